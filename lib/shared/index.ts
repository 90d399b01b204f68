export * from './task-dashboard';
export * from './monitored-fargate-options';
