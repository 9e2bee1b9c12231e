export * from './zoomSim';
