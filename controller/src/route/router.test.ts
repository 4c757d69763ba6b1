import { describe, expect, it } from 'vitest';
import { compile, celValueToKey } from './cel.ts';
import { compileRouter } from './router.ts';
import type { MessageContext } from './cel.ts';

const message = (body: unknown, extra: Partial<MessageContext> = {}): MessageContext => ({
  body,
  attributes: { ApproximateReceiveCount: '1' },
  messageAttributes: {},
  envelope: {},
  ...extra,
});

// The 000 platform's training queue: one queue, routed by key presence and field values.
const trainingRouter = compileRouter([
  { name: 'roleplay-video', when: 'has(body.roleplayVideo)', jobType: 'roleplay-video' },
  { name: 'roleplay', when: 'has(body.roleplay)', jobType: 'roleplay-grading' },
  { name: 'interview', when: 'has(body.evaluationType) && body.evaluationType == "interview"', jobType: 'interview-eval' },
  { name: 'reports', when: 'has(body.reportType) && body.reportType in ["weekly", "monthly"]', jobType: 'report' },
  { name: 'nudges', when: 'body.?sendNudge.orValue(false) == true', jobType: 'nudge' },
]);

describe('compileRouter', () => {
  it.each([
    [{ roleplayVideo: { id: 'v1' }, roleplay: { id: 'r' } }, 'roleplay-video'],
    [{ roleplay: { sessionId: 's1' } }, 'roleplay-grading'],
    [{ evaluationType: 'interview', userId: 'u' }, 'interview-eval'],
    [{ reportType: 'weekly' }, 'report'],
    [{ sendNudge: true }, 'nudge'],
  ])('routes %j to %s, first match wins', (body, jobType) => {
    expect(trainingRouter(message(body))).toMatchObject({ matched: true, jobType });
  });

  it('reports when no route matches, naming the routes tried', () => {
    const decision = trainingRouter(message({ reportType: 'yearly' }));
    expect(decision).toEqual({
      matched: false,
      reason: 'NoRouteMatched',
      message: 'no route matched (tried roleplay-video, roleplay, interview, reports, nudges)',
    });
  });

  it('turns an evaluation error into a routing failure naming the route', () => {
    const router = compileRouter([{ name: 'strict', when: 'body.kind == "a"', jobType: 'a' }]);
    expect(router(message({ other: 1 }))).toMatchObject({
      matched: false,
      reason: 'RouteEvaluationFailed',
      message: expect.stringMatching(/^route strict: .*kind/) as unknown,
    });
  });

  it('rejects a predicate that does not return a bool', () => {
    const router = compileRouter([{ name: 'stringy', when: 'body.kind', jobType: 'a' }]);
    expect(router(message({ kind: 'x' }))).toMatchObject({ reason: 'RouteEvaluationFailed', message: 'route stringy: predicate returned string, not bool' });
  });

  it('routes on legacy pipe fields, attributes, message attributes and envelope facts', () => {
    const router = compileRouter([
      { name: 'by-attribute', when: 'messageAttributes.?priority.orValue("") == "high"', jobType: 'urgent' },
      { name: 'by-topic', when: 'envelope.?sns.?topicArn.orValue("").endsWith(":media")', jobType: 'media' },
      { name: 'retried', when: 'int(attributes.ApproximateReceiveCount) > 3', jobType: 'slow-lane' },
      { name: 'transcode', when: 'body.type == "TRANSCODE"', jobType: 'transcode' },
    ]);
    expect(router(message({ type: 'TRANSCODE', jobId: 'j1' }))).toMatchObject({ jobType: 'transcode' });
    expect(router(message({ type: 'X' }, { messageAttributes: { priority: 'high' } }))).toMatchObject({ jobType: 'urgent' });
    expect(router(message({ type: 'X' }, { envelope: { sns: { topicArn: 'arn:aws:sns:us-east-1:1:media' } } }))).toMatchObject({ jobType: 'media' });
    expect(router(message({ type: 'X' }, { attributes: { ApproximateReceiveCount: '4' } }))).toMatchObject({ jobType: 'slow-lane' });
  });

  it('compares JSON integers (decoded as CEL ints) with int literals', () => {
    const router = compileRouter([{ name: 'big', when: 'body.size + 1 > 10', jobType: 'big' }]);
    expect(router(message({ size: 10n }))).toMatchObject({ matched: true });
  });

  it('fails to compile a syntax error, naming the route', () => {
    expect(() => compileRouter([{ name: 'broken', when: 'body.(', jobType: 'a' }])).toThrow(/^route broken: /);
  });
});

describe('celValueToKey', () => {
  it('turns scalar results into keys and refuses aggregates', () => {
    const key = (expression: string, body: unknown) => {
      const result = compile(expression)(message(body));
      return 'value' in result ? celValueToKey(result.value) : result.error;
    };
    expect(key('body.jobId', { jobId: 'j-1' })).toBe('j-1');
    expect(key('body.n', { n: 42n })).toBe('42');
    expect(key('body.jobId + "/" + body.step', { jobId: 'j', step: 'b' })).toBe('j/b');
    expect(key('body.list', { list: [1] })).toBeUndefined();
  });
});
