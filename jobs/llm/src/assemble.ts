// 003's ASSEMBLE_NOTE without a model: the lesson structure's [VISUAL::…] placeholders replaced by
// the visuals their jobs planned, a fallback line where a visual is missing (it failed).
import { badInput } from '@sluice/job-sdk';
import { lessonStructureSchema, visualSchema, type Visual } from './steps.ts';

const PLACEHOLDER = /\[VISUAL::([^\]]+)\]/g;

/** An llm job's stored answer is {task, output, …}; a bare answer is accepted too. */
function answerOf(json: unknown): unknown {
  return json !== null && typeof json === 'object' && 'output' in json ? json.output : json;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badInput(`${what} is not JSON: ${(error as Error).message}`);
  }
}

export async function assembleNote(
  input: { structure: string; visualsPrefix?: string; visuals: number },
  readText: (uri: string) => Promise<string | undefined>,
): Promise<{ title: string; markdown: string; visualsMissing: number }> {
  const structure = lessonStructureSchema.safeParse(answerOf(parseJson(input.structure, 'the lesson structure')));
  if (!structure.success) throw badInput(`the lesson structure does not match the lesson-structure schema: ${structure.error.issues[0]?.message}`);
  const byDescription = new Map<string, Visual>();
  let missing = 0;
  for (let i = 0; i < input.visuals; i++) {
    const description = structure.data.visualOpportunities[i]?.description;
    const text = input.visualsPrefix ? await readText(`${input.visualsPrefix.replace(/\/+$/, '')}/${i}.json`) : undefined;
    const parsed = text === undefined ? undefined : visualSchema.safeParse(answerOf(parseJson(text, `visual ${i}`)));
    if (description !== undefined && parsed?.success) byDescription.set(description.trim(), parsed.data);
    else missing++;
  }
  const render = (description: string) => {
    const found = byDescription.get(description.trim());
    if (!found) return `> *(A picture of ${description.trim()} belongs here.)*`;
    return `> **Figure:** ${found.caption || found.altText}\n> *Image search: "${found.searchQuery}" — ${found.altText}*`;
  };
  const sections = structure.data.structure.map((s) => `## ${s.heading}\n\n${s.content.replace(PLACEHOLDER, (_m, d: string) => render(d))}`);
  return { title: structure.data.title, markdown: `# ${structure.data.title}\n\n${sections.join('\n\n')}\n`, visualsMissing: missing };
}
