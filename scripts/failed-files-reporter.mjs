// A node:test reporter that writes nothing but the list of test files with a failure, as one JSON
// array: scripts/test.mjs reads it to run those files once more when NOVA_TEST_RETRIES is set.
export default async function* failedFiles(source) {
  const files = new Set();
  for await (const event of source) if (event.type === 'test:fail' && event.data.file) files.add(event.data.file);
  yield `${JSON.stringify([...files])}\n`;
}
