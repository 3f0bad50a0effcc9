#!/usr/bin/env bash
# Build the Debian package check-gklm-backup_VERSION_ARCH.deb with dpkg-deb.
#
#   packaging/deb/build.sh                  build the release binary, package it
#   packaging/deb/build.sh --binary PATH    package an existing binary
#   packaging/deb/build.sh --out DIR        where the .deb goes (target/deb)
#
# Prints the path of the .deb on its last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=""
out="$root/target/deb"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  (cd "$root" && cargo build --release --locked --bin check_gklm_backup)
  binary="$root/target/release/check_gklm_backup"
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
arch=$(dpkg --print-architecture)
pkg=check-gklm-backup
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
p="$root/packaging"
doc="$stage/usr/share/doc/$pkg"

install -D -m 0755 "$binary" "$stage/usr/lib/nagios/plugins/check_gklm_backup"
install -d "$stage/usr/share/man/man1"
gzip -9n < "$p/man/check_gklm_backup.1" > "$stage/usr/share/man/man1/check_gklm_backup.1.gz"
install -D -m 0644 "$p/icinga2/gklm_backup.conf" "$stage/usr/share/icinga2/include/plugins-contrib.d/gklm_backup.conf"
install -D -m 0644 "$p/deb/tmpfiles.conf" "$stage/usr/lib/tmpfiles.d/check-gklm-backup.conf"
install -D -m 0644 "$root/README.md" "$doc/README.md"
install -D -m 0644 "$p/deb/copyright" "$doc/copyright"
for f in icinga2/gklm_backup.conf icinga2/example-services.conf nagios/check_gklm_backup.cfg \
         nagios/example-service.cfg zabbix/userparameter_gklm_backup.conf \
         zabbix/template_gklm_backup.yaml cron/check_gklm_backup.cron; do
  install -D -m 0644 "$p/$f" "$doc/examples/$f"
done

install -d "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: check_gklm_backup developers <check-gklm-backup@example.com>
Installed-Size: $size
Depends: libc6 (>= 2.34), libssl3 (>= 3.0.0)
Suggests: nagios4-core | icinga2 | naemon | zabbix-agent
Section: net
Priority: optional
Homepage: https://example.com/check_gklm_backup
Description: monitoring plugin: is an IBM GKLM (SKLM) backup running, and for how long
 check_gklm_backup asks IBM Security Guardium Key Lifecycle Manager's REST
 API whether a backup is running, prints one plugin line with performance
 data (or JSON for Zabbix), and turns a backup that runs too long into
 WARNING or CRITICAL. Ready-made Icinga 2, Nagios, Zabbix and cron
 definitions are included.
CONTROL
install -m 0755 "$p/deb/postinst" "$stage/DEBIAN/postinst"
install -m 0755 "$p/deb/postrm" "$stage/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
