export * from './task-run-events';
export * from './scheduled-task-alarms';
export * from './reliable-run';
export * from './monitored-scheduled-task';
