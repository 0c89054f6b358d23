# Prints the completions zsh offers for a command line, one per line.
#   zsh -f test/completion/zsh-capture.zsh COMPLETIONS_DIR 'portalctl users re' [DUMP]
# A real interactive zsh runs in a pseudo-terminal of its own (zsh/zpty, so no
# outer terminal is needed) with compinit and the _portalctl under test on
# $fpath; the line is typed, then TAB. compadd is wrapped to write every match
# offered to a file, and the shell exits as soon as the completion is done.
# DUMP, if given, is compinit's dump file: the first shell writes it, later
# ones read it instead of scanning every completion function (1.5 s → 0.2 s).
# Keep one per test run: a dump only notices added or removed files.
emulate -L zsh
zmodload zsh/zpty || { print -u2 'zsh-capture: the zsh/zpty module is missing'; exit 3 }
(( $# == 2 || $# == 3 )) || { print -u2 'usage: zsh-capture.zsh DIR LINE [DUMP]'; exit 2 }

local dir=${1:A} line=$2 dump=${3:-}
local work=$(mktemp -d "${TMPDIR:-/tmp}/zsh-capture.XXXXXX") || exit 3
# (No EXIT trap: the zpty child is a fork of this shell and would run it.)
local out=$work/matches marker=capture-ready-$$
local init='compinit -u -D'
[[ -n $dump ]] && init="compinit -u -d ${(q)dump}"

cat > $work/setup.zsh <<SETUP
PS1='' PROMPT='' RPROMPT='' PS2=''
unsetopt beep
# Never wait forever: leave after 20 idle seconds in the line editor.
TMOUT=20
TRAPALRM() { exit 4 }
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit
$init
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
  # Calls that only collect matches into an array are internal steps.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "\$@"
    return
  fi
  local -a __hits
  builtin compadd -O __hits "\$@"
  (( \$#__hits )) && print -rl -- "\${__hits[@]}" >> ${(q)out}
  builtin compadd "\$@"
}
__capture_done() { exit 0 }
comppostfuncs=(__capture_done)
bindkey '^I' complete-word
print -r -- ${(q)marker}
SETUP

zpty capture exec zsh -f -i
zpty -w capture "source ${(q)work}/setup.zsh"
local chunk
if ! zpty -r capture chunk "*${marker}*"; then
  print -u2 'zsh-capture: the shell did not start'
  rm -rf -- $work
  exit 3
fi
zpty -w -n capture "${line}"$'\t'
while zpty -r capture chunk; do :; done
zpty -d capture
[[ -f $out ]] && cat -- $out
rm -rf -- $work
exit 0
