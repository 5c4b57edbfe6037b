/**
 * EKS versions: the default, the end of standard support of each, what changed with them (AMIs), and the
 * add-on versions pinned for each. Pure data and checks, one place to bump when EKS moves on.
 */
import type { EksAddonName } from "./args.js";

/**
 * The EKS Kubernetes version a cluster gets when `eks.version` is not given: the newest version in
 * standard support (see {@link EKS_STANDARD_SUPPORT_END}). Bump it with the table.
 */
export const EKS_DEFAULT_VERSION = "1.35";

/**
 * End of EKS standard support (UTC) by Kubernetes minor version, from the EKS release calendar:
 * https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar
 * After it a cluster pays for extended support, or (upgradePolicy STANDARD, which this package sets)
 * is upgraded by EKS when AWS chooses. Versions older than the first row are past it too.
 */
export const EKS_STANDARD_SUPPORT_END: Readonly<Record<string, string>> = {
  "1.29": "2025-03-23",
  "1.30": "2025-07-23",
  "1.31": "2025-11-26",
  "1.32": "2026-03-23",
  "1.33": "2026-07-29",
  "1.34": "2026-12-02",
  "1.35": "2027-03-27",
};

/** The first Kubernetes version for which EKS publishes no Amazon Linux 2 AMI (AL2 reached end of support on 2025-11-26). */
export const EKS_FIRST_VERSION_WITHOUT_AL2 = "1.33";

/**
 * EKS add-on versions pinned per Kubernetes minor version (one row per version; `eks.addonVersions`
 * overrides single entries). For a version without a row, the add-on is created without a version and
 * EKS installs its default for the cluster's version (and a warning says so).
 *
 * 1.35: vpc-cni, coredns and kube-proxy are the versions `aws eks describe-addon-versions
 * --kubernetes-version 1.35` reported as EKS's defaults in October 2026; metrics-server is the EKS
 * community add-on's 1.35 build (https://docs.aws.amazon.com/eks/latest/userguide/community-addons.html).
 * Check with `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>` when adding a row.
 */
export const EKS_ADDON_VERSIONS: Readonly<Record<string, Readonly<Record<EksAddonName, string>>>> = {
  "1.35": {
    "vpc-cni": "v1.22.4-eksbuild.3",
    coredns: "v1.13.2-eksbuild.31",
    "kube-proxy": "v1.35.3-eksbuild.29",
    "metrics-server": "v0.9.0-eksbuild.6",
  },
};

/** The cluster autoscaler release that matches a Kubernetes minor version (`1.35` → `v1.35.0`). */
export function clusterAutoscalerImageTag(version: string): string {
  return `v${version}.0`;
}

/** A warning when `version` is past its end of EKS standard support at `now`; none for versions newer than the table. */
export function eksVersionWarnings(version: string, now: Date): string[] {
  const end = EKS_STANDARD_SUPPORT_END[version];
  const oldest = Object.keys(EKS_STANDARD_SUPPORT_END).sort(compareMinor)[0]!;
  const past = end ? now.getTime() >= Date.parse(`${end}T00:00:00Z`) : compareMinor(version, oldest) < 0;
  if (!past) return [];
  return [
    `eks.version ${JSON.stringify(version)} is past its end of EKS standard support${end ? ` (${end})` : ""}: with upgradePolicy STANDARD, EKS upgrades the cluster when it chooses (and may refuse to create it). Set eks.version to "${EKS_DEFAULT_VERSION}" (or leave it out).`,
  ];
}

/** Orders Kubernetes minor versions numerically ("1.9" < "1.10"). */
export function compareMinor(a: string, b: string): number {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am! - bm! || an! - bn!;
}
