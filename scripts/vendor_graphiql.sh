#!/usr/bin/env bash
# Vendor the GraphiQL page's assets (UMD builds) so the dev-profile GraphiQL works offline.
#
#   scripts/vendor_graphiql.sh [DEST]     (DEST defaults to gateway/static/graphiql)
#
# Packs the pinned npm packages into a temporary folder, checks each tarball against its pinned sha512 integrity,
# extracts the files the page loads, and replaces DEST with them. Idempotent: does nothing when DEST already holds
# this exact set (recorded in DEST/.vendored, which the Makefile uses as its stamp). The page pins each file's
# sha384 as Subresource Integrity (gateway/graphiql.py), so a changed file here must change there too.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/gateway/static/graphiql}"

# spec | tarball npm pack writes | sha512 integrity of that tarball
packages=(
    "react@18.2.0|react-18.2.0.tgz|sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ=="
    "react-dom@18.2.0|react-dom-18.2.0.tgz|sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g=="
    "graphiql@3.8.3|graphiql-3.8.3.tgz|sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw=="
    "@graphiql/plugin-explorer@1.0.2|graphiql-plugin-explorer-1.0.2.tgz|sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q=="
)

# tarball | path inside the tarball | name in DEST
files=(
    "react-18.2.0.tgz|package/umd/react.production.min.js|react.production.min.js"
    "react-18.2.0.tgz|package/LICENSE|LICENSE.react.txt"
    "react-dom-18.2.0.tgz|package/umd/react-dom.production.min.js|react-dom.production.min.js"
    "react-dom-18.2.0.tgz|package/LICENSE|LICENSE.react-dom.txt"
    "graphiql-3.8.3.tgz|package/graphiql.min.js|graphiql.min.js"
    "graphiql-3.8.3.tgz|package/graphiql.min.css|graphiql.min.css"
    "graphiql-3.8.3.tgz|package/LICENSE|LICENSE.graphiql.txt"
    "graphiql-plugin-explorer-1.0.2.tgz|package/dist/index.umd.js|plugin-explorer.umd.js"
    "graphiql-plugin-explorer-1.0.2.tgz|package/dist/style.css|plugin-explorer.css"
)

die() {
    echo "vendor_graphiql: error: $*" >&2
    exit 1
}

manifest="$(printf '%s\n' "${packages[@]}" "${files[@]}")"

up_to_date() {
    [[ -f "$dest/.vendored" ]] && [[ "$(cat "$dest/.vendored")" == "$manifest" ]] || return 1
    local entry
    for entry in "${files[@]}"; do
        [[ -s "$dest/${entry##*|}" ]] || return 1
    done
}

if up_to_date; then
    echo "vendor_graphiql: $dest is up to date"
    exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed; it is needed once, to fetch the GraphiQL assets (apt-get install -y npm)"
command -v node >/dev/null 2>&1 || die "node is not installed (it comes with npm)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

specs=()
for entry in "${packages[@]}"; do
    specs+=("${entry%%|*}")
done
echo "vendor_graphiql: npm pack ${specs[*]}"
if ! (cd "$work" && npm pack --silent --ignore-scripts "${specs[@]}" >"$work/npm-pack.log" 2>&1); then
    cat "$work/npm-pack.log" >&2
    die "npm pack failed (is the npm registry reachable? see the output above)"
fi

for entry in "${packages[@]}"; do
    IFS='|' read -r spec tarball integrity <<<"$entry"
    [[ -f "$work/$tarball" ]] || die "npm pack $spec did not produce $tarball"
    actual="sha512-$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$work/$tarball")"
    [[ "$actual" == "$integrity" ]] || die "$tarball integrity mismatch: expected $integrity, got $actual"
done

staging="$work/staging"
mkdir -p "$staging"
for entry in "${files[@]}"; do
    IFS='|' read -r tarball inner name <<<"$entry"
    mkdir -p "$work/x/$tarball"
    tar -xzf "$work/$tarball" -C "$work/x/$tarball" "$inner" 2>/dev/null || die "$inner is missing from $tarball"
    [[ -s "$work/x/$tarball/$inner" ]] || die "$inner in $tarball is empty"
    cp "$work/x/$tarball/$inner" "$staging/$name"
done
printf '%s\n' "$manifest" >"$staging/.vendored"

# Replace DEST in one step so an interrupted run never leaves a half-filled folder behind.
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.old" "$dest.new"
if [[ -e "$dest" ]]; then
    mv "$dest" "$dest.old"
fi
cp -R "$staging" "$dest.new"
mv "$dest.new" "$dest"
rm -rf "$dest.old"
chmod -R a+rX "$dest"
echo "vendor_graphiql: vendored GraphiQL 3.8.3 assets into $dest"
