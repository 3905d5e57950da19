//! Nothing secret is kept or shown. For each of the secret forms below (5250 screens, CL, shell,
//! SMB/CIFS, URLs, HTTP headers, cloud keys, chat markup, ten languages) the real binary
//! records a case with `analyze --record`, and the test looks for the secret in everything:
//! the raw bytes of the database file and its WAL after recording, what `analyze` prints
//! (text and JSON), `cases show`, `cases list`, both exports, and the raw bytes again after
//! `cases purge` — where not even the redacted text may be left in free pages.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// (what, text, secrets that must never appear). Every secret is unique (`Zq..`) so that a
/// hit in the database file can only come from the case.
const FORMS: &[(&str, &str, &[&str])] = &[
    ("key=value", "password=Zq01Hunter2", &["Zq01Hunter2"]),
    ("PWD colon", "PWD: Zq02s3cr3t", &["Zq02s3cr3t"]),
    ("German Kennwort", "Kennwort: Zq03Geheim", &["Zq03Geheim"]),
    ("German Passwort =", "Passwort = Zq04Geheim", &["Zq04Geheim"]),
    ("Spanish", "contraseña: Zq05Clave", &["Zq05Clave"]),
    ("Portuguese", "senha: Zq06Segredo", &["Zq06Segredo"]),
    ("French", "mot de passe : Zq07Sesame", &["Zq07Sesame"]),
    ("Japanese full-width colon", "パスワード：Zq08himitsu", &["Zq08himitsu"]),
    ("Chinese", "密码: Zq09mima", &["Zq09mima"]),
    ("Korean", "비밀번호: Zq10bimil", &["Zq10bimil"]),
    ("Russian", "пароль: Zq11Sekret", &["Zq11Sekret"]),
    ("Dutch", "wachtwoord=Zq12Geheim", &["Zq12Geheim"]),
    ("Polish", "hasło: Zq13Tajne", &["Zq13Tajne"]),
    ("Swedish", "lösenord: Zq14Hemligt", &["Zq14Hemligt"]),
    (
        "5250 field with colon",
        "Password . . . . . . . :   Zq15Winter",
        &["Zq15Winter"],
    ),
    (
        "5250 field without colon",
        "Password  . . . .   Zq16Spring",
        &["Zq16Spring"],
    ),
    ("5250 F4 prompt", "User password . . > Zq17Summer", &["Zq17Summer"]),
    (
        "CL PASSWORD()",
        "CHGUSRPRF USRPRF(JSMITH) PASSWORD(Zq18Hunter)",
        &["Zq18Hunter"],
    ),
    (
        "CL quoted with ''",
        "ADDSVRAUTE USRPRF(JSMITH) SERVER(QNTC) USRID(joe) PASSWORD('Zq19It''s me')",
        &["Zq19It"],
    ),
    (
        "CL two words",
        "CHGUSRPRF USRPRF(X) PASSWORD(Zq20correct Zq20horse)",
        &["Zq20correct", "Zq20horse"],
    ),
    (
        "CHGPWD both",
        "CHGPWD CURPWD(Zq21old) NEWPWD(Zq21new)",
        &["Zq21old", "Zq21new"],
    ),
    (
        "RUNRMTCMD RMTPWD",
        "RUNRMTCMD CMD('dir') RMTLOCNAME(WINSRV *IP) RMTUSER(joe) RMTPWD(Zq22Remote)",
        &["Zq22Remote"],
    ),
    (
        "colon two words",
        "password: Zq23correct Zq23horse",
        &["Zq23correct", "Zq23horse"],
    ),
    (
        "net use, password first",
        "net use Z: \\\\srv\\share Zq24NetPw /user:DOM\\joe",
        &["Zq24NetPw"],
    ),
    (
        "net use, password last",
        "net use \\\\srv\\share /user:DOM\\joe Zq25NetPw",
        &["Zq25NetPw"],
    ),
    (
        "smbclient -U user%pw",
        "smbclient //srv/share -U joe%Zq26Smb",
        &["Zq26Smb"],
    ),
    (
        "smbclient quoted domain",
        "smbclient -L srv -U 'DOM\\joe%Zq27Smb'",
        &["Zq27Smb"],
    ),
    (
        "mount -o password=",
        "mount -t cifs -o username=joe,password=Zq28Mount //srv/share /mnt",
        &["Zq28Mount"],
    ),
    (
        "mount -o pass=",
        "mount.cifs //srv/share /mnt -o user=joe,pass=Zq29Mount",
        &["Zq29Mount"],
    ),
    ("smb:// user info", "smb://joe:Zq30Url@nas/share", &["Zq30Url"]),
    (
        "https:// user info",
        "https://admin:Zq31Url@nas.example.com/api",
        &["Zq31Url"],
    ),
    (
        "AWS access key id",
        "aws key AKIAZQ32EXAMPLE12345 in use",
        &["AKIAZQ32EXAMPLE12345"],
    ),
    (
        "AWS secret key",
        "aws_secret_access_key = Zq33wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLE",
        &["Zq33wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLE"],
    ),
    (
        "AWS env var",
        "AWS_SECRET_ACCESS_KEY=Zq34abcdefghijklmnop",
        &["Zq34abcdefghijklmnop"],
    ),
    (
        "inline Authorization in curl -H",
        "curl -H \"Authorization: Basic Zq35dXNlcjpwYXNz\" https://nas/api",
        &["Zq35dXNlcjpwYXNz"],
    ),
    (
        "Authorization header line",
        "Authorization: Bearer Zq36Token.abc",
        &["Zq36Token"],
    ),
    (
        "Proxy-Authorization",
        "Proxy-Authorization: NTLM Zq37TlRMTVNT",
        &["Zq37TlRMTVNT"],
    ),
    (
        "Bearer inline",
        "curl -s https://nas/api -H 'x: Bearer Zq38tokenABC'",
        &["Zq38tokenABC"],
    ),
    (
        "PEM RSA private key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEZq39pAIBAAKCAQEA\nZq39secondline\n-----END RSA PRIVATE KEY-----",
        &["MIIEZq39pAIBAAKCAQEA", "Zq39secondline"],
    ),
    (
        "OpenSSH private key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaZq40\n-----END OPENSSH PRIVATE KEY-----",
        &["b3BlbnNzaZq40"],
    ),
    ("Discord bold label", "**Password:** Zq41Bold", &["Zq41Bold"]),
    ("Discord spoiler", "Password: ||Zq42Spoiler||", &["Zq42Spoiler"]),
    ("pass:", "pass: Zq43Pass", &["Zq43Pass"]),
    ("api_key=", "api_key=Zq44ApiKey", &["Zq44ApiKey"]),
    ("secret=", "secret=Zq45Secret", &["Zq45Secret"]),
    (
        "JSON client_secret",
        "{\"client_secret\": \"Zq46Client\"}",
        &["Zq46Client"],
    ),
    (
        "JSON password",
        "{\"user\": \"joe\", \"password\": \"Zq47Json\"}",
        &["Zq47Json"],
    ),
    ("YAML quoted two words", "password: \"Zq48two words\"", &["Zq48two"]),
    ("XML element", "<password>Zq49Xml</password>", &["Zq49Xml"]),
    ("env var with prefix", "export SMB_PASSWORD=Zq50Env", &["Zq50Env"]),
    ("token env var", "QNTCBOT_DISCORD_TOKEN=Zq51Tok", &["Zq51Tok"]),
    (".netrc", "machine nas login joe password Zq52Netrc", &["Zq52Netrc"]),
    ("FTP PASS command", "PASS Zq53Ftp", &["Zq53Ftp"]),
    (
        "SQL CONNECT USING",
        "CONNECT TO RDB1 USER joe USING 'Zq54Sql'",
        &["Zq54Sql"],
    ),
    (
        "JDBC URL",
        "jdbc:as400://ibmi;user=joe;password=Zq55Jdbc",
        &["Zq55Jdbc"],
    ),
    ("mysql -u -p", "mysql -u root -p Zq56Mysql", &["Zq56Mysql"]),
    ("sshpass -p", "sshpass -p Zq57Ssh ssh joe@ibmi", &["Zq57Ssh"]),
    (
        "--password value",
        "smbclient //srv/share --password Zq58Long",
        &["Zq58Long"],
    ),
    (
        "prose: my password is",
        "my password is Zq59Winter2024",
        &["Zq59Winter2024"],
    ),
    (
        "JWT",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJacTYwIn0.Zq60signature",
        &["Zq60signature", "eyJhbGciOiJIUzI1NiJ9"],
    ),
    ("Slack bot token", "xoxb-1234-5678-Zq61abcdef", &["Zq61abcdef"]),
    (
        "GitHub token",
        "ghp_Zq62abcdefghijklmnopqrstuvwxyz0123",
        &["Zq62abcdefghijklmnopqrstuvwxyz0123"],
    ),
    (
        "Discord bot token",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GhIjKl.Zq63defghijklmnopqrstuvwxyz0123_-AB",
        &["Zq63defghijklmnopqrstuvwxyz0123"],
    ),
    (
        "Google API key",
        "AIzaZq64abcdefghijklmnopqrstuvwxyz01234",
        &["Zq64abcdefghijklmnopqrstuvwxyz01234"],
    ),
    ("Turkish", "şifre: Zq65Sifre", &["Zq65Sifre"]),
    ("Czech", "heslo: Zq66Heslo", &["Zq66Heslo"]),
];

/// Every case mentions this, so a purge can be checked for leftovers of the redacted text.
const MARKER: &str = "Qx7PurgeMarker";

fn qntcbot(home: &Path, db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qntcbot"));
    c.current_dir(common::repo_path("."))
        .env_remove("QNTCBOT_KB")
        .env_remove("QNTCBOT_CONFIG")
        .env_remove("RUST_LOG")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .arg("--db")
        .arg(db);
    c
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{what}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The text a person would paste: the secret on its own line and again on the line of the
/// message id, so the evidence quote (which is cut from the original text) carries it too.
fn paste(form: &str) -> String {
    let inline = if form.contains('\n') { "" } else { form };
    format!(
        "Job log after the upgrade to 7.4, {MARKER}:\n{form}\n\
         CPDB053  Diagnostic  30  Error exchanging security information for user JSMITH. {inline}\n\
         The error class was 0, and the error code was 3401.\n"
    )
}

fn db_files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(bytes) = std::fs::read(&p) {
            files.push((p, bytes));
        }
    }
    files
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_absent(files: &[(PathBuf, Vec<u8>)], needle: &str, when: &str) {
    for (path, bytes) in files {
        assert!(
            !contains(bytes, needle),
            "{needle:?} found in the raw bytes of {} {when}",
            path.display()
        );
    }
}

#[test]
fn at_least_40_forms_in_several_languages() {
    assert!(FORMS.len() >= 40, "{} forms", FORMS.len());
    let non_ascii = FORMS.iter().filter(|(_, t, _)| !t.is_ascii()).count();
    assert!(non_ascii >= 8, "forms in other languages: {non_ascii}");
}

#[test]
fn no_secret_is_stored_shown_exported_or_left_after_purge() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cases.db");
    let mut recorded = Vec::new();
    for (i, (what, form, secrets)) in FORMS.iter().enumerate() {
        let text = paste(form);
        // Record through the real command line, then read the files while the WAL is live.
        let out = qntcbot(dir.path(), &db)
            .args(["analyze", "--record", "--user", &format!("user{i}"), "--"])
            .arg(&text)
            .output()
            .unwrap();
        let shown = ok(out, what);
        let files = db_files(&db);
        assert!(!files.is_empty());
        for s in *secrets {
            assert!(!shown.contains(s), "{what}: analyze printed {s:?}:\n{shown}");
            assert_absent(&files, s, &format!("after recording {what:?}"));
        }
        let id = shown
            .lines()
            .find_map(|l| l.strip_prefix("qntcbot: recorded case "))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("{what}: no case id in {shown}"))
            .to_string();
        let json = ok(
            qntcbot(dir.path(), &db)
                .args(["analyze", "--json", "--"])
                .arg(&text)
                .output()
                .unwrap(),
            what,
        );
        let show = ok(
            qntcbot(dir.path(), &db).args(["cases", "show", &id]).output().unwrap(),
            what,
        );
        assert!(show.contains(MARKER), "{what}: the case text was stored:\n{show}");
        let show_json = ok(
            qntcbot(dir.path(), &db)
                .args(["cases", "show", &id, "--json"])
                .output()
                .unwrap(),
            what,
        );
        for s in *secrets {
            assert!(!json.contains(s), "{what}: analyze --json printed {s:?}:\n{json}");
            assert!(!show.contains(s), "{what}: cases show printed {s:?}:\n{show}");
            assert!(!show_json.contains(s), "{what}: cases show --json printed {s:?}");
        }
        recorded.push(id);
    }

    // Everything at once: exports, lists, full-text search and the files after a checkpoint.
    let mut views = String::new();
    for args in [
        &["cases", "export", "--format", "csv"][..],
        &["cases", "export", "--format", "json"],
        &["cases", "list", "--limit", "1000"],
        &["cases", "list", "--json", "--limit", "1000"],
        &["cases", "list", "--text", MARKER],
    ] {
        views.push_str(&ok(qntcbot(dir.path(), &db).args(args).output().unwrap(), "views"));
    }
    assert!(views.contains(MARKER));
    let files = db_files(&db);
    for (what, _, secrets) in FORMS {
        for s in *secrets {
            assert!(!views.contains(s), "{what}: {s:?} in an export or list");
            assert_absent(&files, s, "after exporting");
        }
    }
    assert!(
        files.iter().any(|(_, b)| contains(b, MARKER)),
        "the case text is in the file"
    );

    // Deleted means gone: not the secrets, and not even the redacted text.
    let out = qntcbot(dir.path(), &db)
        .args(["cases", "purge", "--older-than", "2999-01-01", "--yes"])
        .output()
        .unwrap();
    let said = ok(out, "purge");
    assert!(said.contains(&format!("purged {} case(s)", recorded.len())), "{said}");
    let files = db_files(&db);
    assert_absent(&files, MARKER, "after purging");
    assert_absent(&files, "JSMITH. ", "after purging");
    for (what, _, secrets) in FORMS {
        for s in *secrets {
            assert_absent(&files, s, &format!("after purging ({what})"));
        }
    }
}
