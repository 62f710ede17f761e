import { toRecord } from '../../lambda/core/dataset-record';
import { STUDENT_FORMATS } from '../../lambda/core/student-format';
import {
  readProductionLines,
  dayOf,
  dayOfKey,
  PRODUCTION_RECORDS_PREFIX,
  productionDayPrefix,
  productionRecordsKey,
  daysBetween,
  readDaysWithin,
} from '../../lambda/core/production-records';

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

describe('reading production records back', () => {
  const weights = { visual: 0.1, audio: 0.7, transcription: 0.1, metadata: 0.1 };

  it('reads records kept from before the compact format (student-v1) and new ones (student-v2) alike', () => {
    const v1 = JSON.stringify(toRecord('dog barking', weights, undefined, STUDENT_FORMATS['student-v1']));
    const v2 = JSON.stringify(toRecord('cat meowing', weights));
    expect(v2).toContain('"text":"1 7 1 1"');
    expect(readProductionLines(`${v1}\n${v2}\n`)).toEqual([
      { ok: true, query: 'dog barking', weights },
      { ok: true, query: 'cat meowing', weights },
    ]);
  });

  it('refuses a record whose label does not match its own format', () => {
    const v2 = toRecord('cat meowing', weights);
    const asJson = {
      ...v2,
      messages: [v2.messages[0], { role: 'assistant', content: [{ text: JSON.stringify(weights) }] }],
    };
    expect(readProductionLines(JSON.stringify(asJson))).toEqual([{ ok: false, rule: 'BAD_LABEL' }]);
  });
});

describe('readDaysWithin (Plan reading a --since range within its timeout)', () => {
  const days = daysBetween('2026-06-01', '2026-11-26'); // 179 days

  it('reads every day, oldest first in the result, when the budget allows', async () => {
    const read = await readDaysWithin(
      days.slice(0, 3),
      async (day) => [day],
      1_000,
      () => 0,
    );
    expect(read).toEqual({
      days: [
        { day: '2026-06-01', items: ['2026-06-01'] },
        { day: '2026-06-02', items: ['2026-06-02'] },
        { day: '2026-06-03', items: ['2026-06-03'] },
      ],
      since: '2026-06-01',
      skipped: 0,
    });
  });

  it('over months of records: reads the newest days first and starts no day once the budget is spent', async () => {
    let ms = 0;
    const asked: string[] = [];
    // Each day takes 2 s to list and read (a fake clock); the budget is 180 s: 90 days are read.
    const read = await readDaysWithin(
      days,
      async (day) => {
        asked.push(day);
        ms += 2_000;
        return [day];
      },
      180_000,
      () => ms,
    );
    expect(days).toHaveLength(179);
    expect(asked).toHaveLength(90);
    expect(asked[0]).toBe('2026-11-26');
    expect(read.since).toBe(days[days.length - 90]);
    expect(read.skipped).toBe(89);
    expect(read.days.map((d) => d.day)).toEqual(days.slice(-90));
  });

  it('always reads the newest day, even with no budget', async () => {
    const read = await readDaysWithin(
      days,
      async (day) => [day],
      0,
      () => 0,
    );
    expect(read.days.map((d) => d.day)).toEqual(['2026-11-26']);
  });
});
