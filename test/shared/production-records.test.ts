import {
  dayOf,
  dayOfKey,
  PRODUCTION_RECORDS_PREFIX,
  productionDayPrefix,
  productionRecordsKey,
} from '../../lambda/shared/production-records';

describe('production records layout', () => {
  const at = new Date('2026-11-26T23:59:58.123Z');

  it('partitions by UTC day and reads the day back from the key', () => {
    const key = productionRecordsKey(at, 'msg-1');
    expect(key).toBe('production/records/date=2026-11-26/2026-11-26T23-59-58-123Z-msg-1.jsonl');
    expect(key.startsWith(PRODUCTION_RECORDS_PREFIX)).toBe(true);
    expect(dayOfKey(key)).toBe(dayOf(at));
  });

  it('refuses what is not a day or a safe id, and keys outside the layout', () => {
    expect(() => productionDayPrefix('2026-13-45')).toThrow(/is not a day: use YYYY-MM-DD/);
    expect(() => productionDayPrefix('yesterday')).toThrow(/is not a day/);
    expect(() => productionRecordsKey(at, '../x')).toThrow(/batch id/);
    expect(dayOfKey('runs/run-1/dataset/train.jsonl')).toBeUndefined();
    expect(dayOfKey('production/records/date=2026-11-26/nested/x.jsonl')).toBeUndefined();
  });
});
