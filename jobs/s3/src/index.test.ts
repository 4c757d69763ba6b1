import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobError } from '@sluice/job-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../test-support/moto.ts';
import { downloadFile, getText, isS3Uri, joinS3Uri, parseS3Uri, putText, s3Client, uploadFile } from './index.ts';

describe('s3:// URIs', () => {
  it('parses bucket and key, and refuses anything else as bad input', () => {
    expect(parseS3Uri('s3://media/in/a b.mp4')).toEqual({ bucket: 'media', key: 'in/a b.mp4' });
    expect(() => parseS3Uri('https://media.s3.amazonaws.com/x')).toThrow(JobError);
    expect(() => parseS3Uri('s3://bucket-only/')).toThrow(/not an s3:\/\/bucket\/key URI/);
    expect(isS3Uri('s3://b/k')).toBe(true);
    expect(isS3Uri('plain text')).toBe(false);
    expect(joinS3Uri('s3://out/renders/', '/720p.mp4')).toBe('s3://out/renders/720p.mp4');
  });
});

describe('transfers against a local S3 emulator', () => {
  let moto: Moto;
  const saved = { ...process.env };
  beforeAll(async () => {
    moto = await startMoto();
    await moto.createBucket('jobs');
    Object.assign(process.env, moto.env);
  });
  afterAll(async () => {
    process.env = saved;
    await moto?.stop();
  });

  it('uploads and downloads files and text through the endpoint from the env, path-style', async () => {
    const client = s3Client();
    expect(client.config.forcePathStyle).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-s3-'));
    writeFileSync(join(dir, 'in.bin'), Buffer.alloc(70_000, 7));
    expect(await uploadFile(client, join(dir, 'in.bin'), 's3://jobs/a/in.bin', 'application/octet-stream')).toBe(70_000);
    expect(await downloadFile(client, 's3://jobs/a/in.bin', join(dir, 'out.bin'))).toBe(70_000);
    expect(readFileSync(join(dir, 'out.bin')).equals(readFileSync(join(dir, 'in.bin')))).toBe(true);
    await putText(client, 's3://jobs/a/result.json', '{"ok":true}');
    expect(await getText(client, 's3://jobs/a/result.json')).toBe('{"ok":true}');
  });

  it('reports a missing object as bad input', async () => {
    await expect(getText(s3Client(), 's3://jobs/missing.json')).rejects.toMatchObject({ retryable: false, message: 's3://jobs/missing.json does not exist' });
  });
});
