export * from '../../src/sandbox/slackSim';
