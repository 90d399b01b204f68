import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AlarmDefinition } from './alarm-factory';
import { TaskMetrics } from '../agent/task-metrics';

/**
 * The out-of-memory warning both monitored constructs have: the agent's `MemoryUtilization` Maximum ≥ 90 % (the
 * threshold, percent of the limit) in one 30 s period (a high-resolution alarm on the agent's 1–10 s datapoints);
 * missing data is not breaching (between runs, or while the agent sends nothing, there is none). Internal.
 *
 * @param containerName the container watched against its own limit, or undefined for the task against the task's
 * memory
 * @param overrideName the prop path of the alarm's override, for error messages
 * @param describe the alarm description for a threshold (what happened, what to do next)
 */
export function memoryAlarmDefinition(taskMetrics: TaskMetrics, containerName: string | undefined, overrideName: string,
  describe: (threshold: number) => string): AlarmDefinition {
  return {
    id: 'MemoryAlarm',
    overrideName,
    metric: taskMetrics.metricMemoryUtilization(containerName, { period: Duration.seconds(30) }),
    threshold: 90,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    description: describe,
    checkThreshold: (t) => (t > 0 && t <= 100 ? undefined : 'must be > 0 and ≤ 100 (percent of the memory limit)'),
  };
}
