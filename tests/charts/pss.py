"""The Pod Security Standards, "restricted" profile (baseline included), as a check of rendered workloads.

The rules and their field paths follow the Kubernetes documentation, Pod Security Standards
(kubernetes/website content/en/docs/concepts/security/pod-security-standards.md, for v1.33), which
pod-security-admission implements in k8s.io/pod-security-admission/policy (one check_*.go per control).
Each violation names the control as the documentation does.
"""

from __future__ import annotations

from typing import Any

# Baseline: "Capabilities" - what may be added.
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
# Baseline: "Sysctls" - the safe set.
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
# Restricted: "Volume Types".
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}
# Baseline: "SELinux" - the allowed types.
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

POD_TEMPLATES = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind in POD_TEMPLATES:
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def restricted_violations(obj: dict[str, Any]) -> list[str]:
    """Every way a workload breaks the restricted profile; [] when it passes (or is no workload)."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    found: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
                  *(spec.get("ephemeralContainers") or [])]

    # --- baseline -------------------------------------------------------------------------------------
    if any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")):
        found.append("Host Namespaces: hostNetwork, hostPID and hostIPC must be unset or false")
    if pod_sc.get("windowsOptions", {}).get("hostProcess"):
        found.append("HostProcess: windowsOptions.hostProcess must be unset or false")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            found.append(f"HostPath Volumes: volume {volume.get('name')} is a hostPath")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"Sysctls: {sysctl.get('name')} is not in the safe set")
    if not _selinux_ok(pod_sc.get("seLinuxOptions")):
        found.append("SELinux: the pod's seLinuxOptions set a user, role or type that is not allowed")
    if (pod_sc.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
        found.append("AppArmor: the pod's profile must be RuntimeDefault or Localhost")

    # --- restricted -------------------------------------------------------------------------------------
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"Volume Types: volume {volume.get('name')} is {', '.join(sorted(kinds))}")
    if pod_sc.get("runAsUser") == 0:
        found.append("Running as Non-root user: the pod's runAsUser is 0")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        found.append(f"Seccomp: the pod's seccompProfile is {pod_seccomp}")

    for c in containers:
        name = c.get("name")
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            found.append(f"Privileged Containers: {name} is privileged")
        added = set((sc.get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:
            found.append(f"Capabilities: {name} adds {', '.join(sorted(added - BASELINE_CAPABILITIES))}")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"Host Ports: {name} uses hostPort {port['hostPort']}")
        if sc.get("procMount") not in (None, "Default"):
            found.append(f"/proc Mount Type: {name} sets procMount {sc['procMount']}")
        if not _selinux_ok(sc.get("seLinuxOptions")):
            found.append(f"SELinux: {name} sets a user, role or type that is not allowed")
        if (sc.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
            found.append(f"AppArmor: {name}'s profile must be RuntimeDefault or Localhost")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"Privilege Escalation: {name} must set allowPrivilegeEscalation: false")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            found.append(f"Running as Non-root: {name} (or the pod) must set runAsNonRoot: true")
        if sc.get("runAsUser") == 0:
            found.append(f"Running as Non-root user: {name} sets runAsUser 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"Seccomp: {name} (or the pod) must set seccompProfile RuntimeDefault or Localhost")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"Capabilities: {name} must drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"Capabilities: {name} may add only NET_BIND_SERVICE")
    return found


def _selinux_ok(options: dict[str, Any] | None) -> bool:
    if not options:
        return True
    return not options.get("user") and not options.get("role") and options.get("type", "") in SELINUX_TYPES
