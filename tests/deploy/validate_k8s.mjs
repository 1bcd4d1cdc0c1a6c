// Validates deploy/kubernetes/*.yaml offline: every document against the Kubernetes schemas of
// npm `kubernetes-models` (its models' validate()), then what the schemas cannot see: the
// Indexed Job's index is the shard, its completions are the shard count, and every Secret,
// PersistentVolumeClaim and Service selector a manifest refers to is defined. These manifests
// are validated here, never run: no cluster runs on the test machine.
// Usage: node tests/deploy/validate_k8s.mjs [DIR]   (exit 0 valid, 1 with one line per problem)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { Job } from "kubernetes-models/batch/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { Service, PersistentVolumeClaim, Secret } from "kubernetes-models/v1";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] || path.join(here, "../../deploy/kubernetes");
const models = {
  "batch/v1 Job": Job,
  "apps/v1 Deployment": Deployment,
  "v1 Service": Service,
  "v1 PersistentVolumeClaim": PersistentVolumeClaim,
  "v1 Secret": Secret,
};

const problems = [];
const objects = [];
const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
if (files.length === 0) problems.push(`${dir}: no manifest`);
for (const file of files) {
  const docs = parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8"));
  docs.forEach((doc, i) => {
    const where = `${file}[${i}]`;
    if (doc.errors.length) {
      problems.push(`${where}: YAML: ${doc.errors[0].message}`);
      return;
    }
    const obj = doc.toJS();
    if (obj === null) return;
    const Model = models[`${obj.apiVersion} ${obj.kind}`];
    if (!Model) {
      problems.push(`${where}: ${obj.apiVersion} ${obj.kind}: not a kind this check knows`);
      return;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      problems.push(`${where} ${obj.kind}/${obj.metadata?.name}: ${e.message.split("\n").join("; ")}`);
      return;
    }
    objects.push({ where, obj });
  });
}

const named = (kind) => new Set(objects.filter((o) => o.obj.kind === kind).map((o) => o.obj.metadata.name));
const claims = named("PersistentVolumeClaim");
const secrets = named("Secret");
const podSpecs = objects
  .filter((o) => o.obj.kind === "Job" || o.obj.kind === "Deployment")
  .map((o) => ({ ...o, pod: o.obj.spec.template.spec }));

for (const { where, obj, pod } of podSpecs) {
  for (const v of pod.volumes || [])
    if (v.persistentVolumeClaim && !claims.has(v.persistentVolumeClaim.claimName))
      problems.push(`${where}: volume ${v.name} claims ${v.persistentVolumeClaim.claimName}, which no manifest defines`);
  for (const c of pod.containers)
    for (const e of c.env || [])
      if (e.valueFrom?.secretKeyRef && !secrets.has(e.valueFrom.secretKeyRef.name))
        problems.push(`${where}: ${e.name} reads Secret ${e.valueFrom.secretKeyRef.name}, which no manifest defines`);
  if (obj.kind === "Job" && obj.metadata.name === "conlab-shards") {
    const spec = obj.spec;
    if (spec.completionMode !== "Indexed") problems.push(`${where}: completionMode must be Indexed`);
    const c = pod.containers[0];
    const line = [...(c.command || []), ...(c.args || [])].join(" ");
    const shards = (c.env || []).find((e) => e.name === "SHARDS")?.value;
    if (!/--shard "?\$JOB_COMPLETION_INDEX\/\$SHARDS"?/.test(line))
      problems.push(`${where}: the shard must be --shard $JOB_COMPLETION_INDEX/$SHARDS`);
    if (String(spec.completions) !== shards || String(spec.parallelism) !== shards)
      problems.push(`${where}: completions and parallelism (${spec.completions}, ${spec.parallelism}) must equal SHARDS (${shards})`);
    if (!/--out "?\/parts\/part-\$JOB_COMPLETION_INDEX\.json/.test(line))
      problems.push(`${where}: each shard must write /parts/part-$JOB_COMPLETION_INDEX.json`);
  }
}
const deployments = objects.filter((o) => o.obj.kind === "Deployment");
for (const { where, obj } of objects.filter((o) => o.obj.kind === "Service")) {
  const sel = obj.spec.selector || {};
  const hit = deployments.some(({ obj: d }) =>
    Object.entries(sel).every(([k, v]) => d.spec.template.metadata.labels?.[k] === v));
  if (!hit) problems.push(`${where}: Service ${obj.metadata.name} selects no Deployment's pods`);
}
for (const kind of ["Job", "Deployment", "Service", "PersistentVolumeClaim", "Secret"])
  if (!objects.some((o) => o.obj.kind === kind)) problems.push(`${dir}: no ${kind}`);

if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`${objects.length} manifests in ${files.length} files valid: ${objects.map((o) => `${o.obj.kind}/${o.obj.metadata.name}`).join(", ")}`);
