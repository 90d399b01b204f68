// The run lease of the reliable-run state machine (concurrencyPolicy FORBID/REPLACE): one item per family and cluster
// in the run-outcome handler's DynamoDB table, holding the execution ARN of the run in progress, from Plan to the
// run's report. It cannot stick: a contender asks Step Functions whether the holder still runs (DescribeExecution) and
// takes it over when it does not, and past `expiresAt` (the longest the run could last) it is taken over without
// asking. Only PutItem and UpdateItem, which the handler holds already. Bundled into the run-outcome Lambda. Not part of
// the jsii API.
import type { PutItemCommandInput, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { LeaseRequest } from './run-plan';

/** The two DynamoDB calls the lease makes (the handler passes its client's PutItem and UpdateItem). */
export interface LeaseDb {
  put(input: PutItemCommandInput): Promise<unknown>;
  update(input: UpdateItemCommandInput): Promise<unknown>;
}

const conditionFailed = (e: unknown) => (e as Error)?.name === 'ConditionalCheckFailedException';

/**
 * Takes the lease when it is free, already ours, past its bound, or (with `previous`) still held by `previous`, the
 * holder the state machine found not running or stopped. Returns `{ taken: true }` or the current holder.
 */
export async function takeLease(db: LeaseDb, table: string, lease: LeaseRequest, nowMs: number, previous?: string)
  : Promise<{ taken: boolean; holder?: string }> {
  const values: Record<string, any> = { ':me': { S: lease.holder }, ':now': { N: String(Math.floor(nowMs / 1000)) } };
  let condition = 'attribute_not_exists(taskArn) OR attribute_not_exists(holder) OR holder = :me OR expiresAt < :now';
  if (previous) {
    condition += ' OR holder = :previous';
    values[':previous'] = { S: previous };
  }
  try {
    await db.put({
      TableName: table,
      Item: {
        taskArn: { S: lease.key },
        state: { S: 'LEASE' },
        holder: { S: lease.holder },
        takenAt: { N: String(nowMs) },
        expiresAt: { N: String(lease.expiresAt) },
      },
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
      // The holder, when it is not free (DynamoDB returns the item with the condition failure).
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    return { taken: true };
  } catch (e) {
    if (!conditionFailed(e)) throw e;
    const holder = (e as { Item?: Record<string, { S?: string }> }).Item?.holder?.S;
    if (!holder) throw new Error(`the run lease ${lease.key} is held but DynamoDB did not say by whom`);
    return { taken: false, holder };
  }
}

/** Gives the lease back at the run's report, only if this execution still holds it (the item stays, without holder). */
export async function releaseLease(db: LeaseDb, table: string, key: string, holder: string, nowMs: number): Promise<void> {
  try {
    await db.update({
      TableName: table,
      Key: { taskArn: { S: key } },
      UpdateExpression: 'REMOVE holder SET expiresAt = :expired',
      ConditionExpression: 'holder = :me',
      // Expired at once: the TTL removes the item later; takeLease sees it free now.
      ExpressionAttributeValues: { ':me': { S: holder }, ':expired': { N: String(Math.floor(nowMs / 1000) - 1) } },
    });
  } catch (e) {
    if (!conditionFailed(e)) throw e;
  }
}
