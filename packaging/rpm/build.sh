#!/usr/bin/env bash
# Build the RPM check_gklm_backup-VERSION-1.ARCH.rpm from the release binary,
# with rpmbuild and packaging/rpm/check_gklm_backup.spec (its prebuilt mode:
# nothing is compiled inside rpmbuild). Works on RHEL and on Debian
# (apt-get install rpm).
#
#   packaging/rpm/build.sh                  build the release binary, package it
#   packaging/rpm/build.sh --binary PATH    package an existing binary
#   packaging/rpm/build.sh --out DIR        where the .rpm goes (target/rpm)
#
# Prints the path of the .rpm on its last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=""
out="$root/target/rpm"
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
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
spec="$root/packaging/rpm/check_gklm_backup.spec"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
spec_version=$(sed -n 's/^Version: *//p' "$spec")
if [ "$version" != "$spec_version" ]; then
  echo "Cargo.toml says $version but $spec says $spec_version; bump both" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
# _topdir keeps rpmbuild out of ~/rpmbuild; the RHEL layout is spelt out so
# that a Debian rpm (whose _libdir may differ) builds the same package; the
# .rpm lands in $out itself, not in an ARCH subdirectory; dist stays empty
# (the binary is not built for one distribution release); brp-compress
# (gzips the man page) is a bash script that Debian's rpm runs with sh.
rpmbuild -bb --quiet \
  --define "_topdir $top" \
  --define "_rpmdir $out" \
  --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  --define "_prefix /usr" \
  --define "_libdir /usr/lib64" \
  --define "dist %{nil}" \
  --define "__brp_compress bash %{_rpmconfigdir}/brp-compress %{?_prefix}" \
  --define "prebuilt $binary" \
  --define "srcroot $root" \
  "$spec" >&2
rpm="$out/check_gklm_backup-$version-1.$(rpm --eval '%{_arch}').rpm"
test -f "$rpm" || { echo "rpmbuild did not write $rpm" >&2; exit 1; }
echo "$rpm"
