export * from './task-dashboard';
