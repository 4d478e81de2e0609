// Checks a FHIR narrative div (R4 narrative.html#xhtml): well-formed XML, the root is a <div> in
// the XHTML namespace, only the basic HTML elements and attributes FHIR allows (no script,
// forms, frames, event handlers or javascript: URLs), only XML's own named entities, and some
// non-whitespace content (txt-2). Returns a list of messages (empty = valid).

const ALLOWED_ELEMENTS = new Set(('a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt em ' +
  'h1 h2 h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup table tbody td tfoot th thead tr tt ' +
  'ul var').split(' '));
const ALLOWED_ATTRIBUTES = new Set(('abbr accesskey align alt axis bgcolor border cellhalign cellpadding cellspacing ' +
  'cellvalign char charoff charset cite class colspan compact coords dir frame headers height href hreflang hspace ' +
  'id lang longdesc name nowrap rel rev rowspan rules scope shape span src start style summary tabindex title type ' +
  'valign value vspace width xml:lang xmlns').split(' '));
const XML_ENTITIES = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;

export function checkXhtml(div) {
  const problems = [];
  if (typeof div !== 'string') return ['narrative div is not a string'];
  const stack = [];
  let i = 0;
  let text = '';
  let rootSeen = false;
  let rootClosed = false;
  const fail = (m) => { problems.push(m); };
  const checkText = (t, where) => {
    const re = /&([^;\s&<]*);?/g;
    let m;
    while ((m = re.exec(t))) {
      const ent = m[1];
      if (!m[0].endsWith(';')) { fail(`bare '&' in ${where} (write &amp;)`); continue; }
      if (/^#[0-9]+$/.test(ent) || /^#x[0-9A-Fa-f]+$/.test(ent)) continue;
      if (!XML_ENTITIES.has(ent)) fail(`entity &${ent}; is not an XML entity (use a numeric character reference)`);
    }
  };
  while (i < div.length && problems.length < 20) {
    const lt = div.indexOf('<', i);
    const chunk = lt < 0 ? div.slice(i) : div.slice(i, lt);
    if (chunk) {
      if (stack.length === 0 && chunk.trim()) fail(`text outside the root element: ${JSON.stringify(chunk.trim().slice(0, 20))}`);
      checkText(chunk, 'text');
      text += chunk;
    }
    if (lt < 0) break;
    if (div.startsWith('<!--', lt)) {
      const end = div.indexOf('-->', lt + 4);
      if (end < 0) { fail('unterminated comment'); break; }
      i = end + 3;
      continue;
    }
    if (div.startsWith('<![CDATA[', lt) || div.startsWith('<!', lt) || div.startsWith('<?', lt)) {
      fail('CDATA, doctype and processing instructions are not allowed in a narrative');
      const end = div.indexOf('>', lt);
      i = end < 0 ? div.length : end + 1;
      continue;
    }
    const close = div.startsWith('</', lt);
    let j = lt + (close ? 2 : 1);
    const nm = NAME.exec(div.slice(j));
    if (!nm) { fail(`'<' not starting a tag at offset ${lt} (write &lt;)`); i = lt + 1; continue; }
    const name = nm[0];
    j += name.length;
    if (close) {
      const gt = div.indexOf('>', j);
      if (gt < 0 || div.slice(j, gt).trim()) { fail(`malformed end tag </${name}`); break; }
      const open = stack.pop();
      if (open !== name) { fail(`end tag </${name}> does not match <${open ?? 'nothing'}>`); break; }
      if (stack.length === 0) rootClosed = true;
      i = gt + 1;
      continue;
    }
    // Attributes.
    const attrs = new Map();
    let selfClosing = false;
    for (;;) {
      const ws = /^\s*/.exec(div.slice(j))[0];
      j += ws.length;
      if (div.startsWith('/>', j)) { selfClosing = true; j += 2; break; }
      if (div[j] === '>') { j += 1; break; }
      if (!ws) { fail(`malformed tag <${name}>`); j = div.length; break; }
      const an = NAME.exec(div.slice(j));
      if (!an) { fail(`malformed attribute in <${name}>`); j = div.length; break; }
      j += an[0].length;
      const eq = /^\s*=\s*/.exec(div.slice(j));
      if (!eq) { fail(`attribute ${an[0]} in <${name}> has no value`); j = div.length; break; }
      j += eq[0].length;
      const q = div[j];
      if (q !== '"' && q !== "'") { fail(`attribute ${an[0]} in <${name}> is not quoted`); j = div.length; break; }
      const endq = div.indexOf(q, j + 1);
      if (endq < 0) { fail(`unterminated attribute ${an[0]} in <${name}>`); j = div.length; break; }
      const value = div.slice(j + 1, endq);
      if (value.includes('<')) fail(`'<' in attribute ${an[0]} of <${name}>`);
      checkText(value, 'attribute');
      if (attrs.has(an[0])) fail(`duplicate attribute ${an[0]} in <${name}>`);
      attrs.set(an[0], value);
      j = endq + 1;
    }
    if (stack.length === 0) {
      if (rootSeen) fail('more than one root element');
      rootSeen = true;
      if (name !== 'div') fail(`the root element is <${name}>, not <div>`);
      if (attrs.get('xmlns') !== 'http://www.w3.org/1999/xhtml') fail('the root <div> lacks xmlns="http://www.w3.org/1999/xhtml"');
    }
    if (!ALLOWED_ELEMENTS.has(name)) fail(`element <${name}> is not allowed in a narrative`);
    for (const [an, av] of attrs) {
      if (!ALLOWED_ATTRIBUTES.has(an) && !an.startsWith('xmlns:')) fail(`attribute ${an} on <${name}> is not allowed in a narrative`);
      if ((an === 'href' || an === 'src') && /^\s*(javascript|vbscript|data):/i.test(av)) fail(`active content in ${an} of <${name}>`);
    }
    if (!selfClosing) stack.push(name);
    else if (stack.length === 0) rootClosed = true;
    i = j;
  }
  if (!rootSeen) fail('no root <div> element');
  else if (stack.length && problems.length === 0) fail(`unclosed <${stack[stack.length - 1]}>`);
  else if (!rootClosed && problems.length === 0) fail('the root element is not closed');
  const plain = text.replace(/&#x?[0-9a-fA-F]+;|&[a-z]+;/g, 'x');
  if (!plain.trim() && !/<img\b/.test(div)) fail('the narrative has no non-whitespace content (txt-2)');
  return problems;
}
