export * from '../../src/sandbox/zoomSim';
