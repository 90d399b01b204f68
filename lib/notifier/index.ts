export * from './run-outcome-handler';
