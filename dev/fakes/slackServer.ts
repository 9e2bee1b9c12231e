export * from './slackSim';
