// The reliable-run state machine's synchronous steps that touch the run lease (Plan, TakeOver) and the lease's release
// at the run's report. Bundled into the run-outcome Lambda, which hands these inputs here. Not part of the jsii API.
import { LeaseDb, releaseLease, takeLease } from './run-lease';
import { leaseKey, PlanResult, planRun, ReliableRunInputError } from './run-plan';

/** `{ "plan": { input, executionId } }` (Plan) or `{ "takeOver": { input, executionId, previous } }` (TakeOver). */
export interface RunStepInput {
  plan?: { input: unknown; executionId: string };
  takeOver?: { input: unknown; executionId: string; previous: string };
}

/**
 * Plan: the execution input checked (a malformed one fails the execution with ReliableRunInputError before any
 * RunTask), the first attempt's state, and with FORBID/REPLACE the run lease taken (or its holder named).
 * TakeOver: the lease taken from `previous`, a holder the state machine found not running (or stopped: REPLACE).
 */
export async function runStep(step: RunStepInput, db: LeaseDb, table: string, nowMs = Date.now())
  : Promise<PlanResult | PlanResult['lease']> {
  const which = step.plan ?? step.takeOver;
  if (!which) throw new ReliableRunInputError('no plan or takeOver in the input');
  const { state, lease } = planRun(which.input, which.executionId, nowMs);
  if (step.takeOver) {
    if (!lease) throw new ReliableRunInputError('takeOver: the concurrency policy is ALLOW, there is no lease');
    if (typeof step.takeOver.previous !== 'string' || !step.takeOver.previous) throw new ReliableRunInputError('takeOver: previous is required');
    return withHolder(await takeLease(db, table, lease, nowMs, step.takeOver.previous), which.executionId);
  }
  const taken = lease ? await takeLease(db, table, lease, nowMs) : { taken: true };
  return { state, lease: withHolder(taken, which.executionId) };
}

/** The lease answer with `holder` always set (the state machine's ResultSelector reads it). */
const withHolder = (r: { taken: boolean; holder?: string }, me: string) => ({ taken: r.taken, holder: r.taken ? me : r.holder! });

/** At the run's report: the lease of the run's family given back, if this execution holds it. */
export async function releaseRunLease(db: LeaseDb, table: string, config: { clusterName: string; family: string }, executionArn: string) {
  await releaseLease(db, table, leaseKey(config.clusterName, config.family), executionArn, Date.now());
}
