export * from './service-alarms';
export * from './service-dashboard';
export * from './fast-scaling-service';
