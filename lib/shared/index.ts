export * from './task-dashboard';
export * from './monitored-fargate-options';
export * from './fleet-dashboard';
