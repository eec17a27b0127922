// DOM helpers shared by our webview pages. Text always goes in as textContent
// (never parsed as HTML), so journal data cannot inject markup.

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string } = {},
  ...children: Array<Node | null>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  for (const c of children) if (c) node.appendChild(c);
  return node;
}

export function button(label: string, onClick: () => void, options: { secondary?: boolean; title?: string } = {}): HTMLButtonElement {
  const b = el('button', { text: label, className: options.secondary ? 'secondary' : '', title: options.title });
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}
