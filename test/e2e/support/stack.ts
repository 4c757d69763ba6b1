// The local stack's coordinates, read from the .local/env that hack/local-up.sh writes.
import { envFile, loadStackEnv, repoRoot } from '../../../hack/lib/stack-env.ts';

export { repoRoot };

const env = loadStackEnv();

function required(name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${envFile} has no ${name}`);
  return value;
}

export const stack = {
  kubeconfig: required('KUBECONFIG'),
  awsEndpoint: required('AWS_ENDPOINT_URL'),
  sqsEndpoint: required('AWS_ENDPOINT_URL_SQS'),
  awsRegion: required('AWS_REGION'),
  mongoUri: required('MONGODB_URI'),
  postgresUri: required('POSTGRES_URI'),
};
