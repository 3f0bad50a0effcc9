#!/usr/bin/env bash
# Build the Debian package check-gklm-backup_VERSION_ARCH.deb with dpkg-deb.
#
#   packaging/deb/build.sh                  build the release binary, package it
#   packaging/deb/build.sh --binary PATH    package an existing binary
#   packaging/deb/build.sh --out DIR        where the .deb goes (target/deb)
#
# Prints the path of the .deb on its last line. Two runs on one commit give
# the same bytes (see packaging/lib.sh); the dependencies are what
# dpkg-shlibdeps (dpkg-dev) finds the binary links.
set -euo pipefail
umask 022
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/packaging/lib.sh"
binary=""
out="$root/target/deb"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
check_versions_agree
SOURCE_DATE_EPOCH=$(source_date_epoch)
export SOURCE_DATE_EPOCH
if [ -z "$binary" ]; then
  binary=$(build_release_binary)
fi
version=$(cargo_version)
arch=$(dpkg --print-architecture)
pkg=check-gklm-backup
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps wants the binary in a package tree (with DEBIAN/) under
# debian/, beside debian/control.
stage="$work/debian/$pkg"
install -d -m 0755 "$work/debian" "$stage" "$stage/DEBIAN"
p="$root/packaging"
doc="$stage/usr/share/doc/$pkg"

install -D -m 0755 "$binary" "$stage/usr/lib/nagios/plugins/check_gklm_backup"
install -d "$stage/usr/share/man/man1"
gzip -9n < "$p/man/check_gklm_backup.1" > "$stage/usr/share/man/man1/check_gklm_backup.1.gz"
install -D -m 0644 "$p/icinga2/gklm_backup.conf" "$stage/usr/share/icinga2/include/plugins-contrib.d/gklm_backup.conf"
install -D -m 0644 "$p/deb/tmpfiles.conf" "$stage/usr/lib/tmpfiles.d/check-gklm-backup.conf"
install -D -m 0644 "$root/README.md" "$doc/README.md"
install -D -m 0644 "$p/deb/copyright" "$doc/copyright"
# A native package keeps its changelog as changelog.gz (Debian policy 12.7).
gzip -9n < "$p/changelog" > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz" "$stage/usr/share/man/man1/check_gklm_backup.1.gz"
for f in icinga2/gklm_backup.conf icinga2/example-services.conf nagios/check_gklm_backup.cfg \
         nagios/example-service.cfg zabbix/userparameter_gklm_backup.conf \
         zabbix/template_gklm_backup.yaml cron/check_gklm_backup.cron; do
  install -D -m 0644 "$p/$f" "$doc/examples/$f"
done

# dpkg-shlibdeps reads debian/control from the current directory: a minimal
# one in the scratch directory is enough for it to name the packages that
# provide the libraries the binary links.
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O "-edebian/$pkg/usr/lib/nagios/plugins/check_gklm_backup" |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and
# one per directory, so it does not depend on the file system's blocks.
size=$(find "$stage" -mindepth 1 -path "$stage/DEBIAN" -prune -o -printf '%y %s\n' |
  awk '$1 == "f" { n += int(($2 + 1023) / 1024) } $1 != "f" { n += 1 } END { print n }')
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: $(changelog_maintainer)
Installed-Size: $size
Depends: $depends
Suggests: nagios4-core | icinga2 | naemon | zabbix-agent
Section: net
Priority: optional
Description: monitoring plugin for IBM GKLM (SKLM) backups and restores
 check_gklm_backup asks the REST API of IBM Security Guardium Key Lifecycle
 Manager (GKLM, formerly SKLM) about its backups, one question per mode:
 is a backup running, and for too long (running); are keys or certificates
 not yet backed up (needed); did the last backup fail (result); how old is
 the newest backup (age); is a restore running, and stuck in one phase
 (restore). It prints one plugin line with performance data
 (or JSON for Zabbix, or Prometheus text) and exits OK, WARNING, CRITICAL or
 UNKNOWN. Ready-made Icinga 2, Nagios, Zabbix and cron definitions are
 included.
CONTROL
install -m 0755 "$p/deb/postinst" "$stage/DEBIAN/postinst"
install -m 0755 "$p/deb/postrm" "$stage/DEBIAN/postrm"
clamp_mtimes "$stage"

mkdir -p "$out"
deb="$out/${pkg}_${version}_${arch}.deb"
# One compressor thread: xz splits its output by thread, so more threads on
# another machine would give other bytes.
dpkg-deb --root-owner-group -Zxz --threads-max=1 --build "$stage" "$deb" >/dev/null
echo "$deb"
