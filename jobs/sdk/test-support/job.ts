// A job built on runJob for the SDK's process-level tests: `node job.ts <behaviour>`.
import { badInput, runJob, type LargeResultUpload } from '../src/index.ts';

const behaviour = process.argv[2];

const upload: LargeResultUpload = (json) => Promise.resolve({ resultUri: 's3://results/big.json', bytes: json.length });

await runJob(
  async ({ payload, identity, progress }) => {
    progress(10, 'started');
    switch (behaviour) {
      case 'echo':
        await new Promise((resolve) => setTimeout(resolve, 50));
        progress(60, 'halfway');
        return { body: payload.body, format: payload.format, jobName: identity.jobName };
      case 'bad-input':
        throw badInput('input s3://media/in.mp4 is not a media file:\nInvalid data found when processing input');
      case 'crash':
        throw new Error('S3 timed out');
      case 'large':
        return { text: 'x'.repeat(5000) };
      default:
        throw new Error(`unknown behaviour ${behaviour}`);
    }
  },
  { upload: process.env.TEST_UPLOAD === '1' ? upload : undefined },
);
