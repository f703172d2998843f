# shellcheck shell=sh
# The security audit's look at a host. components/audit/inspect.ts runs it over SSH with inspect.sh,
# in the same command (as root, through `sudo -n` for other users), and components/audit/facts.ts
# parses what it prints. Read-only: it writes nothing, anywhere. render/scripts.ts's
# renderSecurityScript puts a prelude of quoted values before it:
#   ROOT                        "" on hosts; tests point it at a folder standing for /
#   TLS_CA TLS_CERT TLS_KEY     the daemon's TLS files
# POSIX sh and coreutils; every other tool is optional. A missing one is said (`tool.NAME no`), and
# what it would have told is left out or `?`, for the checks to call unknown, never pass. One
# `key value` line per fact:
#   tool.NAME yes|no                      systemctl, ss, getent, docker, timeout
#   systemd.booted yes|no                 /run/systemd/system exists: systemd is PID 1
#   group.gid GID|-                       the docker group's id; - when there is no such group
#   group.members A,B                     its members, from getent (NSS) where there is one, else /etc/group
#   group.source getent|file
#   group.local A,B                       its members in the local /etc/group (what can be changed here)
#   group.primary A,B|?                   users whose primary group it is
#   stat.NAME OWNER MODE TYPE PATH        socket, service, socketunit, etcdocker, daemonjson,
#                                         defaultdocker, tlsca, tlscert, tlskey; `- - - PATH` when
#                                         absent, `? ? ? ?` when it cannot be known
#   socketunit.load STATE|?               docker.socket's LoadState (loaded, not-found, …)
#   socketunit.mode MODE                  its SocketMode, socketunit.group its SocketGroup
#   listen.source ss|proc|-               where listen.tcp lines come from (- for nowhere)
#   listen.tcp ADDRESS:PORT PROCESS       one per listening TCP socket (`?` what ss cannot say,
#                                         and /proc gives neither address nor process)
#   apparmor.enabled Y|N|-                the kernel's AppArmor (- for not built in)
#   apparmor.profiles COUNT|-             profiles loaded
#   selinux.enforce 1|0|-                 SELinux enforcing, permissive, or not there
#   cgroup.fs TYPE|-                      the file system of /sys/fs/cgroup: cgroup2fs is cgroup v2
#   info BASE64|-                         `docker info` as JSON (security options, cgroup version, …)
#   info.error TEXT                       why there is no `docker info`
set -u
have() { command -v "$1" >/dev/null 2>&1; }
for t in systemctl ss getent docker timeout; do
  if have "$t"; then echo "tool.$t yes"; else echo "tool.$t no"; fi
done
if [ -d "$ROOT/run/systemd/system" ]; then echo "systemd.booted yes"; else echo "systemd.booted no"; fi

# The docker group, through NSS where getent is there (directory users included), else the file.
if have getent; then
  line=$(getent group docker 2>/dev/null || true)
  echo "group.source getent"
else
  line=$(awk -F: '$1 == "docker" { print; exit }' "$ROOT/etc/group" 2>/dev/null || true)
  echo "group.source file"
fi
if [ -n "$line" ]; then
  gid=$(printf '%s\n' "$line" | cut -d: -f3)
  printf 'group.gid %s\ngroup.members %s\n' "$gid" "$(printf '%s\n' "$line" | cut -d: -f4)"
  printf 'group.local %s\n' "$(awk -F: '$1 == "docker" { print $4; exit }' "$ROOT/etc/group" 2>/dev/null || true)"
  if have getent; then
    users=$(getent passwd 2>/dev/null) || users="?"
  else
    users=$(cat "$ROOT/etc/passwd" 2>/dev/null) || users="?"
  fi
  if [ "$users" = "?" ]; then
    echo "group.primary ?"
  else
    printf 'group.primary %s\n' "$(printf '%s\n' "$users" | awk -F: -v g="$gid" '$4 == g { printf "%s%s", s, $1; s = "," }')"
  fi
else
  printf 'group.gid -\ngroup.members \ngroup.local \ngroup.primary \n'
fi

# stat_of NAME PATH: owner, mode and type of PATH, following links (/var/run is one to /run).
stat_of() {
  if [ "$2" = "?" ]; then
    echo "stat.$1 ? ? ? ?"
  elif [ -e "$2" ]; then
    if [ -S "$2" ]; then kind=socket; elif [ -d "$2" ]; then kind=directory; elif [ -f "$2" ]; then kind="file"; else kind=other; fi
    printf 'stat.%s %s %s %s\n' "$1" "$(stat -L -c "%U:%G %a" "$2")" "$kind" "$2"
  else
    printf 'stat.%s - - - %s\n' "$1" "$2"
  fi
}
# unit_file UNIT: where systemd loads UNIT from, else the first of the usual places, else "-".
unit_file() {
  if have systemctl; then
    p=$(systemctl show -p FragmentPath "$1" 2>/dev/null | sed -n 's/^FragmentPath=//p')
    echo "${p:--}"
    return
  fi
  for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -f "$ROOT$d/$1" ]; then
      echo "$ROOT$d/$1"
      return
    fi
  done
  echo "-"
}
stat_of socket "$ROOT/var/run/docker.sock"
stat_of service "$(unit_file docker.service)"
stat_of socketunit "$(unit_file docker.socket)"
stat_of etcdocker "$ROOT/etc/docker"
stat_of daemonjson "$ROOT/etc/docker/daemon.json"
stat_of defaultdocker "$ROOT/etc/default/docker"
stat_of tlsca "$ROOT$TLS_CA"
stat_of tlscert "$ROOT$TLS_CERT"
stat_of tlskey "$ROOT$TLS_KEY"

# docker.socket: the mode systemd gives the socket when it starts dockerd on demand.
if have systemctl; then
  systemctl show -p LoadState -p SocketMode -p SocketGroup docker.socket 2>/dev/null | awk -F= '
    $1 == "LoadState" { print "socketunit.load " $2 }
    $1 == "SocketMode" { print "socketunit.mode " $2 }
    $1 == "SocketGroup" { print "socketunit.group " $2 }'
else
  echo "socketunit.load ?"
fi

# Every listening TCP socket: ss names the process; the kernel's tables give the port alone.
if have ss; then
  echo "listen.source ss"
  ss -ltnp 2>/dev/null | awk '$1 == "LISTEN" {
    p = "?"
    if (match($0, /users:\(\("[^"]*"/)) p = substr($0, RSTART + 9, RLENGTH - 10)
    print "listen.tcp " $4 " " p
  }'
elif [ -r "$ROOT/proc/net/tcp" ]; then
  echo "listen.source proc"
  # shellcheck disable=SC2002 # cat skips a missing tcp6 (IPv6 off) and goes on; awk would stop there.
  cat "$ROOT/proc/net/tcp" "$ROOT/proc/net/tcp6" 2>/dev/null | awk '$4 == "0A" {
    h = toupper(substr($2, index($2, ":") + 1)); port = 0
    for (i = 1; i <= length(h); i++) port = port * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
    print "listen.tcp ?:" port " ?"
  }'
else
  echo "listen.source -"
fi

# What protects dockerd and its containers, as the kernel says it.
for f in apparmor.enabled:sys/module/apparmor/parameters/enabled selinux.enforce:sys/fs/selinux/enforce; do
  v=$(head -c 16 "$ROOT/${f#*:}" 2>/dev/null | tr -d ' \n') || v=""
  echo "${f%%:*} ${v:--}"
done
if [ -r "$ROOT/sys/kernel/security/apparmor/profiles" ]; then
  echo "apparmor.profiles $(wc -l < "$ROOT/sys/kernel/security/apparmor/profiles" | tr -d ' ')"
else
  echo "apparmor.profiles -"
fi
if [ -d "$ROOT/sys/fs/cgroup" ]; then echo "cgroup.fs $(stat -f -c %T "$ROOT/sys/fs/cgroup" 2>/dev/null || echo -)"; else echo "cgroup.fs -"; fi

# dockerd's own view: security options (seccomp, apparmor, selinux, userns, rootless, cgroupns).
if have docker; then
  limit=""
  if have timeout; then limit="timeout 20"; fi
  # shellcheck disable=SC2086 # $limit is empty or two words on purpose.
  if out=$($limit docker -H unix:///var/run/docker.sock info --format '{{json .}}' 2>/dev/null); then
    printf 'info %s\n' "$(printf '%s' "$out" | base64 | tr -d '\n')"
  else
    printf 'info -\ninfo.error docker info exited with %s (no unix socket, or dockerd does not answer on it)\n' "$?"
  fi
else
  printf 'info -\ninfo.error no docker CLI on the host\n'
fi
