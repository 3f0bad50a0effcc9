# Shared by packaging/deb/build.sh and packaging/rpm/build.sh (sourced, not
# run): where version, dates and maintainer come from (packaging/changelog,
# the one changelog both packages carry), and how the release binary is
# built so that two builds of one commit give the same bytes wherever the
# checkout and the cargo home are.
#
# Expects $root, the repository (or unpacked source tarball) to build.

changelog="$root/packaging/changelog"

# The top entry of packaging/changelog (Debian format): its version, its
# maintainer ("Name <mail>") or its date (RFC 5322).
changelog_version() { sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$changelog"; }
changelog_maintainer() { sed -n '0,/^ -- /s/^ -- \(.*>\)  .*/\1/p' "$changelog"; }
changelog_date() { sed -n '0,/^ -- /s/^ -- .*>  \(.*\)$/\1/p' "$changelog"; }

cargo_version() { sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1; }

# Cargo.toml is what the binary says with -V; the packages must say the same.
check_versions_agree() {
  local cargo changelog_v
  cargo=$(cargo_version)
  changelog_v=$(changelog_version)
  if [ "$cargo" != "$changelog_v" ]; then
    echo "Cargo.toml says $cargo but packaging/changelog says $changelog_v: add a changelog entry" >&2
    exit 1
  fi
}

# packaging/changelog as an RPM %changelog: one "* DAY MON DD YYYY NAME
# <MAIL> - VERSION-1" header per entry, its bullets as "- " items.
rpm_changelog() {
  local line version="" items=""
  while IFS= read -r line; do
    case "$line" in
      " -- "*)
        local who=${line#" -- "} when
        who=${who%%>*}">"
        when=$(LC_ALL=C date -u -d "${line##*>  }" '+%a %b %d %Y')
        printf '* %s %s - %s-1\n%s\n' "$when" "$who" "$version" "$items"
        items="" ;;
      "  * "*) items+="${items:+$'\n'}- ${line#"  * "}" ;;
      "    "*) items+=$'\n'"  ${line#"    "}" ;;
      " "*|"") ;;
      *) version=${line#*(}; version=${version%%)*} ;;
    esac
  done < "$changelog"
}

# Every timestamp the build writes: the last commit's time, so a rebuild of
# that commit anywhere gives the same bytes; in an unpacked tarball without
# git, the date of the top changelog entry. A SOURCE_DATE_EPOCH already set
# (by rpmbuild, by a distribution's builder) wins.
source_date_epoch() {
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    echo "$SOURCE_DATE_EPOCH"
  elif [ "$(git -C "$root" rev-parse --show-toplevel 2>/dev/null)" = "$root" ]; then
    git -C "$root" log -1 --format=%ct
  else
    date -u -d "$(changelog_date)" +%s
  fi
}

# Build the release binary and print its path. The target directory is
# cargo's own answer, so CARGO_TARGET_DIR and build.target-dir are honoured
# and the binary packaged is the one just built. The checkout, the cargo home
# and the target directory are remapped to fixed names in the paths rustc
# writes into the binary; the flags are added to the user's own RUSTFLAGS or
# CARGO_ENCODED_RUSTFLAGS, or else given as --config, which cargo joins with
# build.rustflags from config files rather than replacing them.
build_release_binary() {
  local target cargo_home sep=$'\x1f' flags
  target=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  [ -n "$target" ] || { echo "cargo metadata named no target directory" >&2; exit 1; }
  cargo_home=${CARGO_HOME:-$HOME/.cargo}
  local remap=(
    "--remap-path-prefix=$cargo_home=/cargo"
    "--remap-path-prefix=$root=/source"
    "--remap-path-prefix=$target=/target"
  )
  local config=()
  # Set, even empty, CARGO_ENCODED_RUSTFLAGS is what cargo uses.
  if [ -n "${CARGO_ENCODED_RUSTFLAGS+set}" ]; then
    flags=$CARGO_ENCODED_RUSTFLAGS
    for f in "${remap[@]}"; do flags+="${flags:+$sep}$f"; done
    export CARGO_ENCODED_RUSTFLAGS=$flags
  elif [ -n "${RUSTFLAGS:-}" ]; then
    flags=""
    for f in $RUSTFLAGS "${remap[@]}"; do flags+="${flags:+$sep}$f"; done
    export CARGO_ENCODED_RUSTFLAGS=$flags
    unset RUSTFLAGS
  else
    case "$cargo_home$root$target" in
      *"'"*) echo "a path with ' cannot be remapped through --config; set RUSTFLAGS" >&2; exit 1 ;;
    esac
    flags=""
    for f in "${remap[@]}"; do flags+="${flags:+, }'$f'"; done
    config=(--config "build.rustflags = [$flags]")
  fi
  (cd "$root" && cargo "${config[@]}" build --release --locked --bin check_gklm_backup) >&2
  echo "$target/release/check_gklm_backup"
}

# Clamp every mtime under a staged tree to SOURCE_DATE_EPOCH, so the archive
# does not record when the files were copied.
clamp_mtimes() {
  find "$1" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
}
