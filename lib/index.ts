export * from './task-metrics';
export * from './metrics-publisher';
export * from './monitoring-agent';
export * from './task-run-events';
export * from './scheduled-task-alarms';
export * from './task-dashboard';
export * from './monitored-scheduled-task';
