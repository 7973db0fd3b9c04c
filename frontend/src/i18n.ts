// Worker-facing strings come from Django's gettext catalogue (annotation_server/locale),
// rendered into the page by the workspace view: one catalogue for server and app.
let catalogue: Record<string, string> = {};

export function setCatalogue(messages: Record<string, string>): void {
  catalogue = messages;
}

/** The translated message for `key`, with {name} placeholders filled in. */
export function t(key: string, params: Record<string, string | number> = {}): string {
  const text = catalogue[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in params ? String(params[name]) : m,
  );
}
