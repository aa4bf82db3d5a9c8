/**
 * The README.txt that goes on every volume: what the disc is, and how to restore it with standard
 * tools only (SCRIPT_TOOLS), on GNU, BusyBox and BSD/macOS systems, and on Windows. The restore
 * script in it is run verbatim by the by-hand tests, so what the README says is what is tested.
 */

export const SCRIPT_BEGIN = '#--- begin restore script';
export const SCRIPT_END = '#--- end restore script';

/**
 * Every program the restore script runs (builtins of dash, bash and BusyBox ash aside, printf
 * included anyway): the README's "needs only" list, and what the by-hand tests put on PATH. `locale`
 * is optional (it finds a UTF-8 locale), and either `unzip` or `bsdtar` opens the zips.
 */
export const SCRIPT_TOOLS = ['sh', 'tar', 'unzip', 'find', 'mkdir', 'mktemp', 'mv', 'rm', 'rmdir', 'cat', 'xargs', 'printf'] as const;
export const SCRIPT_TOOLS_OPTIONAL = ['locale', 'bsdtar'] as const;

/**
 * POSIX sh, for GNU, BusyBox and BSD/macOS userlands alike. Setup: a UTF-8 locale when `locale`
 * knows one (bsdtar cannot write a UTF-8 name under C); which tar (`tar`, else `bsdtar`) and which
 * zip reader (Info-ZIP `unzip -UU -^` under C, which writes names byte for byte; BusyBox `unzip`; else
 * `bsdtar`, which reads zips too; else any `unzip`), using only `-xf`, `-C`, `-d`, `-o`, `-q` beyond
 * that. Steps: (1) untar the volume; (2) expand every nested `.xtar`, outermost first, removing each
 * before tar reads it from stdin (so a folder named `.xtar` can take its place); (3) join split
 * parts as their volumes are expanded, onto the first part moved aside in its backup's turn (so the
 * newest backup's version wins however each stored it); (4) move every blob aside under a fresh
 * name, remembering its folder and name, then unzip
 * each into its folder — once all blobs are out of the way no unzip can overwrite a blob still to be
 * unzipped, whatever the names (`x` beside `x.zip`, shortened long names). A zip that cannot be
 * opened goes back under its name. What could not be done is said in one line each, at the end.
 */
export const RESTORE_SCRIPT = `${SCRIPT_BEGIN}
# Usage: sh restore.sh DEST VOLUME1.xtar [VOLUME2.xtar ...]    (DEST should be empty or new)
set -eu
say() { printf 'restore.sh: %s\\n' "$*" >&2; }
# A UTF-8 locale if there is one: bsdtar cannot write a UTF-8 name under C.
utf8=
if command -v locale >/dev/null 2>&1; then
  for l in C.UTF-8 C.utf8 en_US.UTF-8 en_US.utf8 UTF-8; do
    if [ "$(LC_ALL=$l locale charmap 2>/dev/null || :)" = UTF-8 ]; then utf8=$l; break; fi
  done
fi
export LC_ALL="\${utf8:-C}"
# Which tar, and which reader for the zips (Info-ZIP or BusyBox unzip, else bsdtar, else any unzip).
if command -v tar >/dev/null 2>&1; then tar=tar; elif command -v bsdtar >/dev/null 2>&1; then tar=bsdtar
else say "found no tar (nor bsdtar): nothing restored"; exit 1; fi
case $($tar --version 2>&1 || :) in *bsdtar*|*libarchive*) bsd=$tar ;; *) bsd= ;; esac
if [ -z "$bsd" ] && command -v bsdtar >/dev/null 2>&1; then bsd=bsdtar; fi
zip=
if command -v unzip >/dev/null 2>&1; then
  case $(unzip -v 2>&1 || :) in *Info-ZIP*) zip=info-zip ;; *BusyBox*) zip=busybox ;; *) zip=unzip ;; esac
fi
case $zip in info-zip|busybox) ;; *) [ -z "$bsd" ] || zip=$bsd ;; esac
[ -n "$zip" ] || { say "found no unzip (nor bsdtar): the files stay NAME.zip"; }
dest=$1; shift
case $dest in /*) ;; *) dest=$(pwd)/$dest ;; esac
mkdir -p "$dest"
# Each zip (NAME.zip, .xtar-bundle-N, a split file's NAME.zip.001) is moved aside as its volume is
# expanded, then all unzipped in that order: a later backup's file wins. 3. A later part is joined
# onto its NAME.zip.001 (NAME.zip.000 says where it went, and which part comes next).
work=
[ -z "$zip" ] || work=$(mktemp -d "$dest/.xtar-unzip.XXXXXX")
aside() {
  [ -n "$work" ] || return 0
  (cd "$dest" && find . -path "./\${work##*/}" -prune -o -type f \\( -name '*.zip' -o -name '.xtar-bundle-*' -o -name '*.zip.[0-9][0-9][0-9]*' \\) -exec sh -c '
    work=$1; shift
    for z do
      case $z in
        *.zip|*/.xtar-bundle-*) b=$z ;;
        *.zip.000) continue ;;
        *.zip.001) b=\${z%.*} ;;
        *) b=\${z%.*}; [ -f "$b.000" ] || continue
          { read -r n && read -r i; } < "$b.000" && [ "\${z##*.}" = "$(printf %03d "$i")" ] || continue
          cat "$z" >> "$n" && rm -f "$z" && printf "%s\\n%s\\n" "$n" $((i + 1)) > "$b.000" || exit 1
          continue ;;
      esac
      n=$(mktemp "$work/z.XXXXXX") && mv -f "$z" "$n" && printf "%s\\0%s\\0%s\\0" "$n" "\${z%/*}" "$b" >> "$work/list" || exit 1
      [ "$b" = "$z" ] || printf "%s\\n2\\n" "$n" > "$b.000" || exit 1
    done' sh "$work" {} +)
}
for a do
  case $a in /*) ;; *) a=$(pwd)/$a ;; esac
  # 1. The volume's own tar.
  (cd "$dest" && $tar -xf "$a")
  # 2. Every folder's contents are a hidden tar named .xtar inside it: expand them until none is left.
  while [ -n "$(find "$dest" -type f -name .xtar -print -quit)" ]; do
    find "$dest" -type f -name .xtar -exec sh -c '
      tar=$1; shift
      for f do
        (cd "\${f%/.xtar}" && rm -f .xtar && exec $tar -xf -) < "$f" || exit 1
      done' sh "$tar" {} +
  done
  aside
done
cd "$dest"
# 3. Without unzip, split files are joined here.
find . -type f -name '*.zip.001' -exec sh -c '
  for first do
    base=\${first%.001}; i=1
    while f=$(printf "%s.%03d" "$base" "$i") && [ -f "$f" ]; do cat "$f" >> "$base" && rm -f "$f"; i=$((i + 1)); done
  done' sh {} +
# 4. Every file is a zip holding it. All were moved aside (a bundle holds several); unzip each into its folder.
[ -n "$zip" ] || exit 1
aside
find . -type f -name '*.zip.000' -exec rm -f {} +
if [ -f "$work/list" ]; then
  xargs -0 -n 999 sh -c '
    zip=$1; work=$2; shift 2
    while [ $# -gt 2 ]; do
      case $zip in
        info-zip) LC_ALL=C unzip -qq -o -UU -^ "$1" -d "$2" ;;
        busybox|unzip) unzip -q -o "$1" -d "$2" ;;
        *) "$zip" -xf "$1" -C "$2" ;;
      esac && rm -f "$1" || { mv -f "$1" "$3" && printf x >> "$work/failed" || exit 1; }
      shift 3
    done' sh "$zip" "$work" < "$work/list"
  rm -f "$work/list"
fi
bad=
if [ -f "$work/failed" ]; then bad=$(cat "$work/failed"); rm -f "$work/failed"; fi
rmdir "$work"
[ "$zip" != "$bsd" ] || say "bsdtar opened the zips: some names may differ (a \\\\ read as a folder, NFD as NFC); xtar expand-structure gives them back"
[ -n "$utf8" ] || [ -z "$bsd" ] || say "no UTF-8 locale found: bsdtar may have skipped names that are not ASCII"
[ -z "$bad" ] || { say "\${#bad} zip(s) could not be opened and are left as NAME.zip"; exit 1; }
${SCRIPT_END}`;

/** What the restore script of an encrypted volume needs besides SCRIPT_TOOLS. */
export const SEALED_SCRIPT_TOOLS = ['age'] as const;

/**
 * The restore script of an encrypted volume: RESTORE_SCRIPT with one more step, 3b, which decrypts
 * every `NAME.zip.age` into `NAME.zip` with `age -d -i IDENTITY` (after split parts were joined,
 * before the zips are moved aside). The identity file is $XTAR_IDENTITY, or else the volume's
 * xtar-key.age decrypted by age itself, which asks for the passphrase once on the terminal. Every
 * name then ends in `.zip`, never `.age`, so no decrypted file can land on a blob still to decrypt.
 * A blob age refuses is named as it is met, left as `NAME.zip.age`, and counted once at the end, apart
 * from the zips that could not be opened (with unzip or without).
 */
export const SEALED_RESTORE_SCRIPT = RESTORE_SCRIPT.replace(
  // Encrypted blobs and parts are moved aside and joined in order as the plain ones are (and decrypted just before unzipping).
  `-o -name '*.zip.[0-9][0-9][0-9]*' \\)`,
  `-o -name '*.zip.[0-9][0-9][0-9]*' -o -name '*.zip.age' -o -name '*.zip.age.[0-9][0-9][0-9]*' \\)`,
).replace(`*.zip|*/.xtar-bundle-*) b=$z ;;`, `*.zip|*.zip.age|*/.xtar-bundle-*) b=$z ;;`)
  .replace(`*.zip.000) continue ;;`, `*.zip.000|*.zip.age.000) continue ;;`)
  .replace(`*.zip.001) b=`, `*.zip.001|*.zip.age.001) b=`)
  .replace(`find . -type f -name '*.zip.000' -exec rm`, `find . -type f \\( -name '*.zip.000' -o -name '*.zip.age.000' \\) -exec rm`)
  .replace(
    `    while [ $# -gt 2 ]; do
      case $zip in`,
    `    while [ $# -gt 2 ]; do
      case $3 in
        *.age)
          if age -d -i "$id" -o "$1.zip" "$1" && mv -f "$1.zip" "$1"; then :; else
            rm -f "$1.zip"; mv -f "$1" "$3" || exit 1
            printf "restore.sh: could not decrypt %s (damaged?): left as it is\\n" "$3" >&2; printf x >> ./.xtar-age-failed
            shift 3; continue
          fi ;;
      esac
      case $zip in`,
  )
  .replace(`{ mv -f "$1" "$3" && printf x`, `{ mv -f "$1" "\${3%.age}" && printf x`)
  .replace(
  `find . -type f -name '*.zip.001' -exec`,
  `find . -type f \\( -name '*.zip.001' -o -name '*.zip.age.001' \\) -exec`,
).replace(
  `# 4. Every file is a zip holding it.`,
  `# 3b. Every blob is encrypted with age (NAME.zip.age), decrypted with the set's identity: each moved aside
# just before it is unzipped (step 4), any still here (no unzip) into NAME.zip now.
id=\${XTAR_IDENTITY:-}
if [ -z "$id" ]; then
  key=; for a in "$@"; do case $a in /*) ;; *) a=$OLDPWD/$a ;; esac; [ -f "\${a%/*}/xtar-key.age" ] && { key=\${a%/*}/xtar-key.age; break; }; done
  [ -n "$key" ] || { say "set XTAR_IDENTITY to the identity file (age -d -o key.txt xtar-key.age): nothing decrypted"; exit 1; }
  id=$(umask 077 && mktemp ./.xtar-key.XXXXXX)
  age -d -o "$id" "$key" || { rm -f "$id"; say "age could not open $key (wrong passphrase?): nothing decrypted"; exit 1; }
  trap 'rm -f "$id"' EXIT
fi
export id
# Each blob age refuses is named as it is met, tallied in ./.xtar-age-failed, and counted once at the end.
aged=
undecrypted() {
  [ -f ./.xtar-age-failed ] || return 0
  aged=$(cat ./.xtar-age-failed); rm -f ./.xtar-age-failed
  say "\${#aged} blob(s) could not be decrypted and are left as NAME.zip.age"
}
find . -type f -name '*.zip.age' -exec sh -c '
  id=$1; shift
  for f do
    age -d -i "$id" -o "\${f%.age}" "$f" && rm -f "$f" || { rm -f "\${f%.age}"; printf "restore.sh: could not decrypt %s (damaged?): left as it is\\n" "$f" >&2; printf x >> ./.xtar-age-failed; }
  done' sh "$id" {} +
# 4. Every file is a zip holding it.`,
).replace(`[ -n "$zip" ] || exit 1`, `[ -n "$zip" ] || { undecrypted; exit 1; }`)
  .replace(`rmdir "$work"\n`, `rmdir "$work"\nundecrypted\n`)
  // A blob age refused never reached unzip: it is in the count above, not in the zips' (bad).
  .replace(
    `[ -z "$bad" ] || { say "\${#bad} zip(s) could not be opened and are left as NAME.zip"; exit 1; }`,
    `[ -z "$bad" ] || say "\${#bad} zip(s) could not be opened and are left as NAME.zip"
[ -z "$bad$aged" ] || exit 1`,
  );

export interface ReadmeInfo {
  backupId: string;
  volume: number;
  volumes: number | null;
  root: string;
  archive: string;
  created: string;
  files: number;
  bytes: number;
  /** Default 'full'. */
  kind?: 'full' | 'incremental' | 'differential' | 'cyclic';
  base?: string | null;
  /** An encrypted set's volume (with the set's key file when it was made with a passphrase). */
  sealed?: { key: boolean };
}

/** For a backup that builds on another: what it holds, and how to restore the whole state. */
function chainNote(i: ReadmeInfo): string {
  if (i.kind === undefined || i.kind === 'full') return '';
  const what = i.kind === 'cyclic' ? 'the files that changed since, and a share of the others stored again' : 'only the files that changed since';
  return `
This is ${i.kind === 'incremental' ? 'an' : 'a'} ${i.kind} backup: it was compared with backup ${i.base ?? '?'} and holds
${what}. structure.jsonl is still the whole tree as it was; in catalog.jsonl,
a line with "backup" names the earlier backup whose volumes hold that file's bytes (and "as", the
path it was stored under there).

To restore this backup's whole tree:
    xtar unpack THE-SET-FOLDER --dest DEST --backup ${i.backupId}
        (or all the volumes it needs, wherever they are; xtar names the ones it needs first)
By hand: restore the full backup the chain starts from and each later backup up to this one, in
order, oldest first, into the same folder (the script below takes all their .xtar files in that
order), then run
    xtar expand-structure THIS-FOLDER --dest DEST --prune
which gives renamed files their new names and removes the files deleted since.
`;
}

/** The by-hand restore of an encrypted volume. */
function sealedReadme(i: ReadmeInfo): string {
  const key = i.sealed?.key === true;
  return `xtar backup ${i.backupId}, volume ${i.volume}${i.volumes === null ? '' : ` of ${i.volumes}`} (ENCRYPTED with age)
==========================================================

Made by xtar on ${i.created} from the folder "${i.root}".
This volume holds ${i.files} files (${i.bytes} bytes before compression).
${chainNote(i).replace(/structure\.jsonl/g, 'structure.jsonl.age').replace(/catalog\.jsonl/g, 'catalog.jsonl.age')}
Every file's bytes, the structure record and the catalog are encrypted with age
(https://age-encryption.org; the "age" command, Debian/Ubuntu package "age"). File and folder
NAMES, and the sizes of the encrypted blobs, are visible; contents, modes, owners, times and
checksums are not.

What is here
------------
${i.archive}        the archive (a POSIX tar): each file as NAME.zip.age, a zip encrypted with age
volume.json          which backup and which volume of how many
structure.jsonl.age  every folder, file, link, FIFO and device with its mode, owner and times (age)
catalog.jsonl.age    every file with its size, sha256 and where its bytes lie (age)
xtar-recipients.txt  the age public keys everything was encrypted to
${key ? 'xtar-key.age         the secret key (an age identity), itself encrypted with the passphrase\n' : ''}README.txt           this file

Restoring with xtar
-------------------
    xtar unpack THIS-FOLDER --dest DEST      (asks for the passphrase; or XTAR_PASSPHRASE,
                                              --passphrase-file FILE, --identity KEYFILE)

Restoring by hand (tar, age and unzip)
--------------------------------------
${key ? `First get the secret key out of xtar-key.age (age asks for the passphrase once):

    age -d -o key.txt xtar-key.age

(or use the identity file of one of the recipients in xtar-recipients.txt instead of key.txt).` : `Use the identity file (age-keygen's key.txt) of one of the recipients in xtar-recipients.txt.`}
Then do as for a plain volume: untar the archive, expand each folder's hidden .xtar, join split
parts (NAME.zip.age.001, .002, ... : cat them in order into NAME.zip.age), and then decrypt each
blob before unzipping it:

    age -d -i key.txt -o NAME.zip NAME.zip.age

The script below does all of it; save the lines between the markers as restore.sh and run:

    XTAR_IDENTITY=key.txt sh restore.sh DEST /path/to/${i.archive}
${key ? `    sh restore.sh DEST /path/to/${i.archive}      (no XTAR_IDENTITY: age asks for the passphrase
                                                       and opens xtar-key.age beside the archive)
` : ''}
It needs ${[...SCRIPT_TOOLS, ...SEALED_SCRIPT_TOOLS].join(', ')}. A damaged blob costs only its
own file: age refuses it (it authenticates every 64 KiB), the script names it and goes on.

${SEALED_RESTORE_SCRIPT}

The records: age -d -i key.txt -o structure.jsonl structure.jsonl.age (and catalog.jsonl.age);
the outer tar holds copies, ${i.root}.xtar-structure.jsonl.gz.age and ${i.root}.xtar-catalog.jsonl.gz.age
(age, then gzip). With xtar, after a restore by hand:

    xtar expand-structure THIS-FOLDER --dest DEST        (asks for the passphrase)

brings back folders, links, modes, owners and times, and names tools changed.
`;
}

export function volumeReadme(i: ReadmeInfo): string {
  if (i.sealed !== undefined) return sealedReadme(i);
  const of = i.volumes === null ? '' : ` of ${i.volumes}`;
  return `xtar backup ${i.backupId}, volume ${i.volume}${of}
==========================================================

Made by xtar on ${i.created} from the folder "${i.root}".
This volume holds ${i.files} files (${i.bytes} bytes before compression).
${chainNote(i)}
What is here
------------
${i.archive}        the archive (a POSIX tar; see below)
volume.json         which backup and which volume of how many
structure.jsonl     every folder, file, link, FIFO and device with its mode, owner and times
catalog.jsonl       every file with its size, sha256 and where its bytes lie in the archive
README.txt          this file

Restoring with xtar
-------------------
    xtar unpack THIS-FOLDER --dest DEST                 (this volume alone: its whole files)
    xtar unpack VOLUME-1 VOLUME-2 ... --dest DEST      (several volumes, wherever they were copied)

Restoring by hand (standard tools only)
---------------------------------------
Each file was compressed on its own into a one-file zip named NAME.zip (a very long name is
shortened to PREFIX~HASH.zip; the zip still holds the full name); with pack --bundle, small
files of a folder share one zip named .xtar-bundle-N. Each folder's contents were
put into a tar named .xtar inside that folder, nested all the way down. To undo it:

  1. tar -xf ${i.archive}              (gives ${i.root}/.xtar, or ${i.root}.zip for a single file)
  2. repeatedly: move each .xtar out of the way and untar it into its own folder
     (with several volumes: steps 1 to 3, and step 4's moving aside, for each volume in turn)
  3. a file larger than a volume was cut into NAME.zip.001, NAME.zip.002, ... on consecutive
     volumes: join them in order with  cat NAME.zip.001 NAME.zip.002 ... > NAME.zip
  4. move every *.zip and .xtar-bundle-* aside, then unzip each one into the folder it came from,
     in the order moved aside (so a later backup's file replaces an earlier one's)

Step 4 moves the zips aside first because names can collide: a file "x" beside a file "x.zip"
gives "x.zip" and "x.zip.zip", and unzipping the second would overwrite the first if it were
still there. The script below does all of it and is what xtar's tests run, with GNU tools
(Linux), with BusyBox alone, and with bsdtar (macOS, the BSDs) for the tars and the zips. It
needs only ${SCRIPT_TOOLS.join(', ')}
(and, if present, locale to find a UTF-8 locale; bsdtar opens the zips where there is no
Info-ZIP or BusyBox unzip). It picks its tar and unzip itself, uses options they all take, and
says in one line each what it could not do. Save the lines between the markers as restore.sh
and run:

    sh restore.sh DEST /path/to/${i.archive}                 (this volume alone)
    sh restore.sh DEST /path/to/*-vol*/*.xtar               (all volumes, in order)

${RESTORE_SCRIPT}

The outer tar also holds gzip-compressed copies of the structure record and the catalog
(${i.root}.xtar-structure.jsonl.gz and ${i.root}.xtar-catalog.jsonl.gz), for when the plain
files beside the archive are lost.

Names a system cannot hold as they are: some tools write a name differently (bsdtar's zip
reader reads a \\ in a name as a folder: "back\\slash" becomes the folder "back" holding
"slash"; macOS and bsdtar may write an NFD name as NFC; Windows cannot hold \\ : * ? " < > | in a
name, and 7-Zip writes _ instead). xtar expand-structure (below) finds each such file under the
name it was given, checks its sha256 against the catalog, and renames it back — on a system that
can hold the name — or names it if the bytes differ.

On Windows (10 and later) the built-in tar.exe (bsdtar) reads both the tars and the zips:
  1. tar -xf ${i.archive} -C DEST
  2. for every file named .xtar: move it out of its folder to a name ending in .tar (say
     C:\\t\\1.tar), then  tar -xf C:\\t\\1.tar -C ITS-FOLDER  and delete it; repeat until no
     .xtar is left (a folder may itself be named .xtar: hence moving the file first)
  3. join split parts:  copy /b NAME.zip.001+NAME.zip.002 NAME.zip
  4. move every *.zip and .xtar-bundle-* aside (to another folder, noting where each came from), then
     tar -xf NAME.zip -C THE-FOLDER-IT-CAME-FROM  for each, in the order moved aside
  With several volumes: steps 1 to 3 and the moving aside for each volume in turn, oldest first.
With 7-Zip instead of tar.exe: 7z x FILE -oFOLDER for each step. 7-Zip refuses the .xtar of an
empty folder (1,024 zero bytes, an empty tar) unless it is named *.tar: rename it first, or
just delete it and keep the folder.

A disc with read errors
-----------------------
Try these in order:
  1. xtar unpack THIS-FOLDER --dest DEST      straight from the disc: it reads around the
     unreadable sectors and names the files they cost (exit status 1)
  2. xtar rescue (copies the readable bytes off the disc), then xtar repair / xtar unpack the copy
  3. by hand with GNU ddrescue:  ddrescue -d -r3 /dev/sr0 disc.img disc.map
     then mount the image (mount -o loop,ro disc.img /mnt) and unpack or repair from there

Repairing a damaged volume with par2
------------------------------------
If this folder holds .par2 files (xtar pack --par2), they are recovery data for every other file
in it. Copy the folder off the disc (a disc with read errors: as above), then, in the copy:

    par2 repair ${i.archive.replace(/\.xtar$/, '')}.par2        (or: xtar repair THIS-FOLDER)

Bringing back folders, links, permissions, owners and times
-----------------------------------------------------------
Plain tar and unzip restore the files' bytes only. Empty folders come back too, but not symlinks,
hard links, FIFOs, devices, modes, owners or exact times. With xtar:

    xtar expand-structure THIS-FOLDER/structure.jsonl --dest DEST

Without xtar, structure.jsonl is plain text, one JSON object per line: "path", "type"
(dir, file, symlink, hardlink, fifo, char, block), "mode" (octal), "uid"/"gid" and "user"/"group",
"mtime" (seconds.nanoseconds since 1970), "target" for links.
`;
}
