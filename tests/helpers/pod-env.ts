import { COMPLETION_INDEX_ANNOTATION } from "../../components/training-job/manifests.js";

type Obj = Record<string, any>;

/**
 * The environment one pod of a run would see, resolved the way the kubelet does it: `fieldRef`s to the
 * pod's labels and annotations, then `$(VAR)` references to variables defined earlier in the list, plus
 * the `JOB_COMPLETION_INDEX` an Indexed Job's controller adds. For contract tests that boot the runtime
 * from a rendered Job without a cluster.
 */
export function resolvePodEnv(
  jobOrCronJob: Obj,
  pod: { readonly jobName: string; readonly jobUid: string; readonly index?: number },
): Record<string, string> {
  const jobSpec = jobOrCronJob.kind === "CronJob" ? jobOrCronJob.spec.jobTemplate.spec : jobOrCronJob.spec;
  const indexed = jobSpec.completionMode === "Indexed";
  const index = String(pod.index ?? 0);
  const labels: Record<string, string> = {
    ...(jobSpec.template.metadata?.labels ?? {}),
    "batch.kubernetes.io/job-name": pod.jobName,
    "batch.kubernetes.io/controller-uid": pod.jobUid,
  };
  const annotations: Record<string, string> = {
    ...(jobSpec.template.metadata?.annotations ?? {}),
    ...(indexed ? { [COMPLETION_INDEX_ANNOTATION]: index } : {}),
  };
  const out: Record<string, string> = indexed ? { JOB_COMPLETION_INDEX: index } : {};
  for (const e of jobSpec.template.spec.containers[0].env as Obj[]) {
    if (e.valueFrom) {
      const path: string = e.valueFrom.fieldRef?.fieldPath ?? "";
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      out[e.name] = m ? ((m[1] === "labels" ? labels : annotations)[m[2]!] ?? "") : "";
    } else {
      out[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, v: string) => (v in out ? out[v]! : ref));
    }
  }
  return out;
}
