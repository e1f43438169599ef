//! Checks for the `directories` section: unique names, exactly one source each.

use std::collections::HashSet;

use super::{ldap_directory, Problems};
use crate::config::DirectoryConfig;

pub(super) fn check(directories: &[DirectoryConfig], problems: &mut Problems<'_>) {
    let mut names = HashSet::new();
    for (index, directory) in directories.iter().enumerate() {
        let path = format!("directories[{index}]");
        if directory.name.trim().is_empty() {
            problems.report(&format!("{path}.name"), "must not be empty");
        } else if !names.insert(directory.name.as_str()) {
            problems.report(
                &format!("{path}.name"),
                format!("a directory named `{}` is already defined", directory.name),
            );
        }
        match (&directory.static_file, &directory.ldap) {
            (None, None) => problems.report(
                &path,
                "needs a source: `static: { file: … }` (a YAML file of users and groups) or \
                 `ldap: { url: … }` (an LDAP server)",
            ),
            (Some(_), Some(_)) => problems.report(
                &format!("{path}.ldap"),
                "a directory has one source: give either `static` or `ldap`, not both",
            ),
            (Some(source), None) => match (&source.file, &source.users) {
                (None, None) => problems.report(
                    &format!("{path}.static"),
                    "needs `file` (a YAML file of users) or `users` (the list itself)",
                ),
                (Some(_), Some(_)) => problems.report(
                    &format!("{path}.static.users"),
                    "give either `file` or `users`, not both",
                ),
                (Some(file), None) if file.as_os_str().is_empty() => {
                    problems.report(&format!("{path}.static.file"), "must not be empty")
                }
                _ => {}
            },
            (None, Some(ldap)) => ldap_directory::check(ldap, &format!("{path}.ldap"), problems),
        }
    }
}
