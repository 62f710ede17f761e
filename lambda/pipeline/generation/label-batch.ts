/** labelBatch moved to lambda/core/label-batch.ts (the shadow labeller uses it too): re-exported here. */
export * from '../../core/label-batch';
