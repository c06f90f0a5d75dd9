// Decodes Stripe's form encoding (`line_items[0][price_data][currency]=usd`, `types[]=a`) into nested
// values, the way Stripe's API reads request bodies and query strings sent by stripe-node.

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Deepest nesting Stripe accepts is far below this; it only stops a hostile key from recursing forever. */
const FORM_DEPTH_MAX = 8;

function segmentsOf(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0) return [key];
  const segments = [key.slice(0, open)];
  const pattern = /\[([^\]]*)\]/g;
  for (const match of key.slice(open).matchAll(pattern)) segments.push(match[1] ?? "");
  return segments.slice(0, FORM_DEPTH_MAX);
}

type Node = { [key: string]: Node | string };

function assign(root: Node, segments: string[], value: string): void {
  let node = root;
  segments.forEach((segment, index) => {
    const key = segment === "" ? String(Object.keys(node).length) : segment;
    if (index === segments.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next === "object") node = next;
    else {
      const created: Node = {};
      node[key] = created;
      node = created;
    }
  });
}

/** Objects whose keys are all array indices become arrays, in index order. */
function arraysOf(node: Node | string): FormValue {
  if (typeof node === "string") return node;
  const keys = Object.keys(node);
  const isList = keys.length > 0 && keys.every((key) => /^\d+$/.test(key));
  if (isList) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((key) => arraysOf(node[key] as Node | string));
  }
  const out: FormObject = {};
  for (const key of keys) out[key] = arraysOf(node[key] as Node | string);
  return out;
}

export function parseForm(params: URLSearchParams): FormObject {
  const root: Node = {};
  for (const [key, value] of params) assign(root, segmentsOf(key), value);
  return arraysOf(root) as FormObject;
}

export const formString = (value: FormValue | undefined): string | undefined =>
  typeof value === "string" ? value : undefined;

export const formObject = (value: FormValue | undefined): FormObject | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;

export const formList = (value: FormValue | undefined): FormValue[] | undefined => {
  if (Array.isArray(value)) return value;
  return typeof value === "string" ? [value] : undefined;
};

export function formStringMap(value: FormValue | undefined): Record<string, string> {
  const object = formObject(value);
  const out: Record<string, string> = {};
  if (!object) return out;
  for (const [key, entry] of Object.entries(object)) if (typeof entry === "string") out[key] = entry;
  return out;
}
