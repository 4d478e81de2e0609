// FHIR JSON rules that JSON.parse hides or the validators skip (R4 json.html): no duplicate
// property names, no null outside primitive-extension arrays, no empty strings, arrays or
// objects. Returns [{path, message}].

// Duplicate property names: a small scanner over the text (JSON.parse keeps the last one).
export function duplicateKeys(text) {
  const found = [];
  const stack = []; // {keys:Set, path, isObject, index}
  let i = 0;
  let lastKey = null;
  const pathOf = () => stack.map((f) => f.label).filter((x) => x !== undefined).join('');
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j + 1;
      let k = i;
      while (/\s/.test(text[k])) k++;
      const top = stack[stack.length - 1];
      if (text[k] === ':' && top?.isObject) {
        const key = JSON.parse(raw);
        if (top.keys.has(key)) found.push({ path: pathOf() + '.' + key, message: `duplicate property "${key}"` });
        top.keys.add(key);
        lastKey = key;
      }
      continue;
    }
    if (ch === '{' || ch === '[') {
      const parent = stack[stack.length - 1];
      let label;
      if (parent?.isObject) label = '.' + lastKey;
      else if (parent) label = `[${parent.index}]`;
      stack.push({ keys: new Set(), isObject: ch === '{', index: 0, label });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top && !top.isObject) top.index++;
    }
    i++;
  }
  return found;
}

export function emptyValues(value, path, out = [], nullable = false) {
  if (value === null) {
    if (!nullable) out.push({ path, message: 'null is not allowed' });
  } else if (typeof value === 'string') {
    if (value.length === 0) out.push({ path, message: 'empty string (FHIR strings have at least one character; omit the element)' });
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.push({ path, message: 'empty array (omit the element)' });
    value.forEach((v, i) => emptyValues(v, `${path}[${i}]`, out, nullable));
  } else if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) out.push({ path, message: 'empty object (omit the element)' });
    for (const k of keys) {
      // A primitive array and its _name twin may hold null to keep positions aligned.
      const twin = k.startsWith('_') ? k.slice(1) : '_' + k;
      const aligned = Array.isArray(value[k]) && Array.isArray(value[twin]);
      emptyValues(value[k], `${path}.${k}`, out, aligned);
    }
  }
  return out;
}
