export * from './alarm-override';
export * from './app-container-options';
export * from './monitored-fargate-options';
export * from './monitored-fargate-base';
export * from './task-dashboard';
export * from './fleet-dashboard';
