import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildApp } from './helpers/app';

/** A default candidate its Region cannot train is left out of the run, and synth says so on the pipeline stack. */
describe('default candidates a Region cannot train', () => {
  it('says at synth which default candidate is left out, and why', () => {
    const { config, stacks } = buildApp({ region: 'us-west-2' });
    expect(config.candidates.map((c) => c.name)).toEqual(['distill-micro']);
    Annotations.fromStack(stacks.pipeline).hasInfo(
      '*',
      Match.stringLikeRegexp('^left out of the default candidates: candidate "ft-micro": .*us-west-2'),
    );
  });

  it('says nothing where every default candidate can be trained', () => {
    const { stacks } = buildApp({ region: 'us-east-1' });
    Annotations.fromStack(stacks.pipeline).hasNoInfo('*', Match.stringLikeRegexp('left out of the default candidates'));
  });
});
