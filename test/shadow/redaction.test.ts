import {
  ApplyGuardrailCommand,
  BedrockRuntimeClient,
  ConverseCommand,
  ThrottlingException,
  type ApplyGuardrailCommandInput,
  type ApplyGuardrailCommandOutput,
  type GuardrailPiiEntityFilter,
  type GuardrailPiiEntityType,
} from '@aws-sdk/client-bedrock-runtime';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { HELD_OUT_LIMITS, validateDataset } from '../../lambda/core/dataset-validator';
import { recordParts, type ConversationRecord } from '../../lambda/core/dataset-record';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { metrics } from '../../lambda/core/runtime';
import { encodeShadowMessage } from '../../lambda/core/shadow';
import { labelShadowEvent } from '../../lambda/shadow/labeller';
import {
  DEFAULT_REDACTED_PII_TYPES,
  PII_ENTITY_TYPES,
  ROUTING_SIGNAL_PII_TYPES,
  placeholderCounts,
} from '../../lambda/core/redaction';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import { synth } from '../helpers/app';
import { AUDIO, sample, sqsRecord } from './fixtures';

/**
 * Redaction in the shadow labeller: ApplyGuardrail mocked at the SDK boundary in its real response shape, by a fake
 * guardrail that detects every type of the table below but masks only the types the synthesized guardrail is
 * configured with (as the service does). So "names and titles kept" follows from the app's own configuration.
 */

const BUCKET = 'dataset-bucket';
const GUARDRAIL_ID = 'gr0abc123def';

/** One value the fake detector finds per PII type (names and titles included, the types left out by default). */
const EXAMPLES: Record<GuardrailPiiEntityType, string> = {
  ADDRESS: '221B Baker Street, London',
  AGE: '40 years old',
  AWS_ACCESS_KEY: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  CA_HEALTH_NUMBER: '1234-567-890',
  CA_SOCIAL_INSURANCE_NUMBER: '046-454-286',
  CREDIT_DEBIT_CARD_CVV: 'cvv 737',
  CREDIT_DEBIT_CARD_EXPIRY: 'exp 09/29',
  CREDIT_DEBIT_CARD_NUMBER: '4111 1111 1111 1111',
  DRIVER_ID: 'D1234-56789-01234',
  EMAIL: 'jane.doe@example.com',
  INTERNATIONAL_BANK_ACCOUNT_NUMBER: 'GB82WEST12345698765432',
  IP_ADDRESS: '192.0.2.44',
  LICENSE_PLATE: 'plate 7ABC123',
  MAC_ADDRESS: '00:1B:44:11:3A:B7',
  NAME: 'Taylor Swift',
  PASSWORD: 'hunter2pass!',
  PHONE: '+1 206 555 0100',
  PIN: 'pin 4321',
  SWIFT_CODE: 'DEUTDEFF500',
  UK_NATIONAL_HEALTH_SERVICE_NUMBER: '943 476 5919',
  UK_NATIONAL_INSURANCE_NUMBER: 'QQ 12 34 56 C',
  UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER: '12345 67890',
  URL: 'vimeo.com/channels/staffpicks',
  USERNAME: '@mkbhd',
  US_BANK_ACCOUNT_NUMBER: 'account 000123456789',
  US_BANK_ROUTING_NUMBER: 'routing 021000021',
  US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER: '912-91-1234',
  US_PASSPORT_NUMBER: 'passport 123456789',
  US_SOCIAL_SECURITY_NUMBER: '078-05-1120',
  VEHICLE_IDENTIFICATION_NUMBER: '1HGCM82633A004352',
};

/** The PII types of the synthesized guardrail (default configuration): what the service would mask. */
function configuredTypes(context: Record<string, unknown> = {}): string[] {
  const guardrails = synth(context).templates.pipeline.findResources('AWS::Bedrock::Guardrail');
  const [guardrail] = Object.values(guardrails) as {
    Properties: { SensitiveInformationPolicyConfig: { PiiEntitiesConfig: { Type: string; InputAction: string }[] } };
  }[];
  return (guardrail?.Properties.SensitiveInformationPolicyConfig.PiiEntitiesConfig ?? [])
    .filter((c) => c.InputAction === 'ANONYMIZE')
    .map((c) => c.Type);
}

/** ApplyGuardrail as the service answers it: masked text and per-entity assessments, NONE when nothing matched. */
function fakeGuardrail(masked: readonly string[]) {
  return async (input: ApplyGuardrailCommandInput): Promise<ApplyGuardrailCommandOutput> => {
    let text = input.content?.map((c) => ('text' in c ? (c.text?.text ?? '') : '')).join('') ?? '';
    const entities: GuardrailPiiEntityFilter[] = [];
    for (const [type, value] of Object.entries(EXAMPLES) as [GuardrailPiiEntityType, string][]) {
      if (!masked.includes(type) || !text.includes(value)) continue;
      entities.push({ match: value, type, action: 'ANONYMIZED', detected: true });
      text = text.split(value).join(`{${type}}`);
    }
    const usage = {
      topicPolicyUnits: 0,
      contentPolicyUnits: 0,
      wordPolicyUnits: 0,
      sensitiveInformationPolicyUnits: 1,
      sensitiveInformationPolicyFreeUnits: 0,
      contextualGroundingPolicyUnits: 0,
    };
    const $metadata = { httpStatusCode: 200, requestId: 'guardrail-1', attempts: 1, totalRetryDelay: 0 };
    if (entities.length === 0) return { $metadata, usage, action: 'NONE', outputs: [], assessments: [{}] };
    return {
      $metadata,
      usage,
      action: 'GUARDRAIL_INTERVENED',
      actionReason: 'Guardrail masked.',
      outputs: [{ text }],
      assessments: [{ sensitiveInformationPolicy: { piiEntities: entities, regexes: [] } }],
    };
  };
}

const bedrockMock = mockClient(BedrockRuntimeClient);
let s3: InMemoryS3;
/** The EMF objects the labeller flushed. */
let published: Record<string, unknown>[] = [];
beforeAll(() => {
  process.env['BUCKET_NAME'] = BUCKET;
  process.env['TEACHER_MODEL_ID'] = 'us.amazon.nova-pro-v1:0';
  process.env['PRICE_TABLE'] = JSON.stringify(DEFAULT_PRICES);
  process.env['SHADOW_LABEL_BATCH_SIZE'] = '1';
  process.env['ACTIVE_MODEL_PARAMETER_NAME'] = '/intent-router/test/active-model';
  process.env['REDACTION_GUARDRAIL_ID'] = GUARDRAIL_ID;
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    published.push({ ...metrics.serializeMetrics() });
    metrics.clearMetrics();
    metrics.clearDimensions();
    return metrics;
  });
});
beforeEach(() => {
  bedrockMock.reset();
  s3 = new InMemoryS3();
  published = [];
});
afterEach(() => s3.restore());

const now = () => new Date('2026-11-26T10:05:00.000Z');
const noSleep = async () => undefined;

/** The user turn of each record the labeller wrote. */
function storedQueries(): string[] {
  return s3
    .keys(BUCKET)
    .flatMap((key) => (s3.get(BUCKET, key) ?? '').split('\n').filter(Boolean))
    .map((line) => recordParts(JSON.parse(line) as ConversationRecord).query);
}

describe('the default PII types', () => {
  it('are the guardrail’s types minus the routing signals (names, handles, sites, ages)', () => {
    expect(DEFAULT_REDACTED_PII_TYPES).toEqual(expect.arrayContaining(['EMAIL', 'PHONE', 'ADDRESS']));
    expect(DEFAULT_REDACTED_PII_TYPES).toEqual(
      expect.arrayContaining(['CREDIT_DEBIT_CARD_NUMBER', 'US_BANK_ACCOUNT_NUMBER']),
    );
    for (const kept of ROUTING_SIGNAL_PII_TYPES) expect(DEFAULT_REDACTED_PII_TYPES).not.toContain(kept);
    expect(new Set(Object.keys(EXAMPLES))).toEqual(new Set(PII_ENTITY_TYPES));
  });

  it('are what the synthesized guardrail masks, on the input only', () => {
    expect(configuredTypes().sort()).toEqual([...DEFAULT_REDACTED_PII_TYPES].sort());
  });
});

describe('shadow labeller redaction', () => {
  it.each(DEFAULT_REDACTED_PII_TYPES.map((type) => [type]))(
    'masks %s before the teacher sees it and before the record is written; the record stays valid',
    async (type) => {
      const masked = configuredTypes();
      bedrockMock.on(ApplyGuardrailCommand).callsFake(fakeGuardrail(masked));
      const teacherSaw: string[] = [];
      bedrockMock.on(ConverseCommand).callsFake(async (input) => {
        teacherSaw.push(requestTexts(input).user);
        return converseReply(JSON.stringify(AUDIO));
      });
      const query = `Taylor Swift Breaking Bad clip from ${EXAMPLES[type]}`;
      const event: SQSEvent = { Records: [sqsRecord('m-1', encodeShadowMessage([sample(query)]))] };
      expect(await labelShadowEvent(event, { sleep: noSleep, now })).toEqual({ batchItemFailures: [] });

      const expected = `Taylor Swift Breaking Bad clip from {${type}}`;
      expect(storedQueries()).toEqual([expected]);
      expect(teacherSaw.join('\n')).not.toContain(EXAMPLES[type]);
      expect(teacherSaw.join('\n')).toContain(`{${type}}`);
      const [key] = s3.keys(BUCKET);
      expect(validateDataset(s3.get(BUCKET, key ?? '') ?? '', HELD_OUT_LIMITS)).toEqual({
        ok: true,
        records: 1,
        labelled: 1,
      });
      expect(placeholderCounts(expected)).toEqual({ [type]: 1 });

      const request = bedrockMock.commandCalls(ApplyGuardrailCommand)[0]?.args[0].input;
      expect(request).toEqual({
        guardrailIdentifier: GUARDRAIL_ID,
        guardrailVersion: 'DRAFT',
        source: 'INPUT',
        content: [{ text: { text: query } }],
      });
    },
  );

  it('keeps names, titles, handles, sites and ages (routing signals), and a query without PII as sent', async () => {
    bedrockMock.on(ApplyGuardrailCommand).callsFake(fakeGuardrail(configuredTypes()));
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const kept = [
      `${EXAMPLES.NAME} performing Shake It Off live`,
      `${EXAMPLES.USERNAME} iphone review on ${EXAMPLES.URL}`,
      `cartoons for kids ${EXAMPLES.AGE}`,
      'dog barking loudly',
    ];
    const event: SQSEvent = { Records: kept.map((q, i) => sqsRecord(`m-${i}`, encodeShadowMessage([sample(q)]))) };
    expect(await labelShadowEvent(event, { sleep: noSleep, now })).toEqual({ batchItemFailures: [] });
    expect(storedQueries().sort()).toEqual([...kept].sort());
  });

  it('counts what it masked, by type, in the batch outcome’s metrics', async () => {
    bedrockMock.on(ApplyGuardrailCommand).callsFake(fakeGuardrail(configuredTypes()));
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const event: SQSEvent = {
      Records: [
        sqsRecord('m-1', encodeShadowMessage([sample(`email ${EXAMPLES.EMAIL} and ${EXAMPLES.PHONE}`)])),
        sqsRecord('m-2', encodeShadowMessage([sample(`funny cats ${EXAMPLES.EMAIL}`)])),
      ],
    };
    await labelShadowEvent(event, { sleep: noSleep, now });
    const counts = storedQueries().reduce<Record<string, number>>((sum, q) => {
      for (const [t, n] of Object.entries(placeholderCounts(q))) sum[t] = (sum[t] ?? 0) + (n ?? 0);
      return sum;
    }, {});
    expect(counts).toEqual({ EMAIL: 2, PHONE: 1 });
    const redactedMetric = Object.fromEntries(
      published.filter((b) => b['RedactedEntities'] !== undefined).map((b) => [b['PiiType'], b['RedactedEntities']]),
    );
    expect(redactedMetric).toEqual({ EMAIL: 2, PHONE: 1 });
  });

  it('a failed redaction gives the message back: nothing labelled, nothing stored unmasked', async () => {
    bedrockMock
      .on(ApplyGuardrailCommand)
      .rejects(new ThrottlingException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } }));
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const event: SQSEvent = {
      Records: [sqsRecord('m-1', encodeShadowMessage([sample(`call me ${EXAMPLES.PHONE}`)]))],
    };
    expect(await labelShadowEvent(event, { sleep: noSleep, now })).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-1' }],
    });
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(0);
    expect(s3.keys(BUCKET)).toEqual([]);
    // Retried as a teacher call would be, then given up.
    expect(bedrockMock.commandCalls(ApplyGuardrailCommand).length).toBeGreaterThan(1);
  });

  it('a guardrail that blocks instead of masking fails the message rather than storing the text', async () => {
    bedrockMock.on(ApplyGuardrailCommand).resolves({
      $metadata: { httpStatusCode: 200 },
      usage: undefined,
      action: 'GUARDRAIL_INTERVENED',
      outputs: [{ text: 'Blocked by the intent-router redaction guardrail.' }],
      assessments: [
        {
          sensitiveInformationPolicy: {
            piiEntities: [{ match: EXAMPLES.EMAIL, type: 'EMAIL', action: 'BLOCKED', detected: true }],
            regexes: [],
          },
        },
      ],
    });
    bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
    const event: SQSEvent = { Records: [sqsRecord('m-1', encodeShadowMessage([sample(`mail ${EXAMPLES.EMAIL}`)]))] };
    expect(await labelShadowEvent(event, { sleep: noSleep, now })).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-1' }],
    });
    expect(s3.keys(BUCKET)).toEqual([]);
  });

  it('with redaction off (redactPiiTypes=none) makes no guardrail and no ApplyGuardrail call', async () => {
    expect(configuredTypes({ redactPiiTypes: 'none' })).toEqual([]);
    process.env['REDACTION_GUARDRAIL_ID'] = 'none';
    try {
      bedrockMock.on(ConverseCommand).resolves(converseReply(JSON.stringify(AUDIO)));
      const event: SQSEvent = { Records: [sqsRecord('m-1', encodeShadowMessage([sample('dog barking')]))] };
      await labelShadowEvent(event, { sleep: noSleep, now });
      expect(bedrockMock.commandCalls(ApplyGuardrailCommand)).toHaveLength(0);
      expect(storedQueries()).toEqual(['dog barking']);
    } finally {
      process.env['REDACTION_GUARDRAIL_ID'] = GUARDRAIL_ID;
    }
  });
});
