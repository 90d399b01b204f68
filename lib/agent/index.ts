export * from './task-metrics';
export * from './metrics-publisher';
export * from './monitoring-agent';
