import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { MonitoredFargateOptions } from './monitored-fargate-options';

/**
 * Adds `alarmActions` to the ALARM state and `okActions` (default: the `alarmActions`) to the OK state of each alarm.
 * Internal: not exported from the package.
 */
export function addAlarmActions(alarms: cloudwatch.Alarm[], options: MonitoredFargateOptions): void {
  for (const alarm of alarms) {
    alarm.addAlarmAction(...options.alarmActions ?? []);
    alarm.addOkAction(...options.okActions ?? options.alarmActions ?? []);
  }
}
