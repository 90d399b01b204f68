export * from './agent';
export * from './shared';
export * from './scheduled-task';
export * from './service';
export * from './notifier';
