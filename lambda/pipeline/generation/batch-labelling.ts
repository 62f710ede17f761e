/** Batch labelling moved to lambda/core/batch-labelling.ts (the shadow labeller uses it too): re-exported here. */
export * from '../../core/batch-labelling';
