# Shared shell helpers for tools/run and tools/test (sourced, not run).
# Installs missing Debian packages of the given groups from tools/deps.txt.

TERN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

tern_need_packages() {
	local groups="$*" missing=() pkg grp
	while read -r grp pkg; do
		case "$grp" in ''|'#'*) continue ;; esac
		[[ " $groups " == *" $grp "* ]] || continue
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done < "$TERN_ROOT/tools/deps.txt"
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "tools: installing ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	# Postfix's installer asks questions; an MTA daemon must not start during tests.
	echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections 2>/dev/null || true
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

tern_build() { # tern_build <dir> <build type> [extra cmake args...] [-- targets...]
	local dir=$1 type=$2
	shift 2
	local args=() targets=()
	while [ $# -gt 0 ]; do
		if [ "$1" = "--" ]; then shift; targets=("$@"); break; fi
		args+=("$1"); shift
	done
	cmake -S "$TERN_ROOT" -B "$TERN_ROOT/$dir" -DCMAKE_BUILD_TYPE="$type" "${args[@]}" >/dev/null
	local t=()
	for x in "${targets[@]}"; do t+=(--target "$x"); done
	cmake --build "$TERN_ROOT/$dir" -j"$(nproc)" "${t[@]}"
}
