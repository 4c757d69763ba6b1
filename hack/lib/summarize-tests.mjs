// Prints the closing lines over vitest's JSON reports: each failed test with the first line of its
// error (so the tail of a long CI log names it), then "N passed, N failed".
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

let passed = 0, failed = 0, skipped = 0;
const failures = [];
for (const file of process.argv.slice(2)) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const suite of report.testResults ?? []) {
      const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
      for (const test of failedTests) failures.push(`${relative(process.cwd(), suite.name)} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
      // A file that failed to load has no tests to blame.
      if (suite.status === 'failed' && failedTests.length === 0) failures.push(`${relative(process.cwd(), suite.name)}: ${firstLine(suite.message)}`);
    }
  } catch {
    failed += 1; // a suite that wrote no report did not pass
    failures.push(`no test report in ${file}`);
  }
}
function firstLine(text) {
  return (text ?? '').split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 300) ?? '';
}
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
