//! Every text the console shows, by key, in each language it speaks (English
//! first, French second): one row per key, in the table of the entries that show
//! it (the portal's is the smallest), each sorted by key. The language is chosen
//! once per page load — the person's choice, else their firm's, else the
//! browser's — and a change reloads the page in the new one.

use std::cell::Cell;

// The languages, in the column order of a `Row`.
use shared::auth::users::LANGUAGES;

/// Where the chosen language is kept between page loads.
const STORAGE_KEY: &str = "fm_lang";

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// (key, English, French). Each table is sorted by key.
type Row = (&'static str, &'static str, &'static str);

// Every entry carries only the text it can show: a key's first segment says its
// table (tests/browser/run.mjs checks the placement, the order, both languages,
// and that every key a screen uses exists).

/// Text every entry shows: app., accept., error., field., form., not_found.,
/// paging., portal., step_up.
#[rustfmt::skip]
const COMMON: &[Row] = &[
    ("accept.help", "New to Firmament? Choose your name and a password. Already have an account? Sign in first, then open the link again.", "Nouveau sur Firmament ? Choisissez votre nom et un mot de passe. Déjà un compte ? Connectez-vous d’abord, puis rouvrez le lien."),
    ("accept.no_token", "This page opens from the link in the invitation e-mail.", "Cette page s’ouvre depuis le lien de l’e-mail d’invitation."),
    ("accept.portal_title", "Open your client portal", "Ouvrir votre portail client"),
    ("accept.sign_in_first", "Sign in, then come back to this invitation", "Se connecter, puis revenir à cette invitation"),
    ("accept.submit", "Accept the invitation", "Accepter l’invitation"),
    ("accept.title", "Join your firm on Firmament", "Rejoindre votre cabinet sur Firmament"),
    ("app.loading", "Loading…", "Chargement…"),
    ("app.name", "Firmament", "Firmament"),
    ("app.sign_out", "Sign out", "Se déconnecter"),
    ("app.signed_in_as", "Signed in as", "Connecté en tant que"),
    ("app.skip", "Skip to the content", "Aller au contenu"),
    ("error.offline", "Firmament could not be reached. Check your connection and try again; what you typed is kept.", "Firmament est injoignable. Vérifiez votre connexion et réessayez ; votre saisie est conservée."),
    ("error.unknown", "Something went wrong. Try again.", "Une erreur est survenue. Réessayez."),
    ("field.brand_color", "Brand colour", "Couleur de marque"),
    ("field.code", "Six-digit code or recovery code", "Code à six chiffres ou code de secours"),
    ("field.currency", "Currency", "Devise"),
    ("field.current_password", "Current password", "Mot de passe actuel"),
    ("field.email", "Work e-mail", "E-mail professionnel"),
    ("field.email_optional", "E-mail (optional)", "E-mail (facultatif)"),
    ("field.email_plain", "E-mail", "E-mail"),
    ("field.firm_name", "Firm name", "Nom du cabinet"),
    ("field.firm_slug", "Your firm’s short name", "Nom court de votre cabinet"),
    ("field.fiscal_year", "Fiscal year starts in", "L’exercice commence en"),
    ("field.language", "Language", "Langue"),
    ("field.locale", "Formats (locale)", "Formats (langue-région)"),
    ("field.name", "Name", "Nom"),
    ("field.new_password", "New password (at least 12 characters)", "Nouveau mot de passe (12 caractères au moins)"),
    ("field.owner_name", "Your name", "Votre nom"),
    ("field.password", "Password", "Mot de passe"),
    ("field.phone", "Mobile number", "Numéro de mobile"),
    ("field.role", "Role", "Rôle"),
    ("field.slug", "Short name (in addresses)", "Nom court (dans les adresses)"),
    ("field.sms_code", "Six-digit code from the text message", "Code à six chiffres du SMS"),
    ("field.timezone", "Time zone", "Fuseau horaire"),
    ("field.totp_code", "Six-digit code from the app", "Code à six chiffres de l’application"),
    ("field.your_name", "Your name", "Votre nom"),
    ("form.save", "Save", "Enregistrer"),
    ("form.saved", "Saved.", "Enregistré."),
    ("form.working", "Saving…", "Enregistrement…"),
    ("not_found.back", "Back to the overview", "Retour à la vue d’ensemble"),
    ("not_found.title", "This page does not exist", "Cette page n’existe pas"),
    ("paging.label", "Pages", "Pages"),
    ("paging.next", "Next page", "Page suivante"),
    ("paging.previous", "Previous page", "Page précédente"),
    ("portal.people", "People with access", "Personnes ayant accès"),
    ("portal.your_account", "Your account", "Votre compte"),
    ("step_up.code", "Code from your app, a text message or a recovery code", "Code de l’application, d’un SMS ou de secours"),
    ("step_up.done", "Verified: send the form again.", "Vérifié : renvoyez le formulaire."),
    ("step_up.submit", "Verify", "Vérifier"),
    ("step_up.title", "This needs a fresh second factor", "Cela demande un second facteur récent"),
];

/// The pages before signing in (the public and whole entries): forgot.,
/// reset., sign_in., sign_up., verify.
#[cfg(feature = "auth")]
#[rustfmt::skip]
const PUBLIC: &[Row] = &[
    ("forgot.help", "Enter your address: if it has an account, a link to choose a new password arrives within a minute.", "Saisissez votre adresse : si elle a un compte, un lien pour choisir un nouveau mot de passe arrive dans la minute."),
    ("forgot.sent", "If that address has an account, the link is on its way. It works for an hour.", "Si cette adresse a un compte, le lien est en route. Il est valable une heure."),
    ("forgot.submit", "Send the link", "Envoyer le lien"),
    ("forgot.title", "Reset your password", "Réinitialiser votre mot de passe"),
    ("reset.done", "Your password is changed and every session was signed out.", "Votre mot de passe est changé et toutes les sessions ont été fermées."),
    ("reset.no_token", "This page opens from the link in the e-mail; ask for a new one.", "Cette page s’ouvre depuis le lien de l’e-mail ; demandez-en un nouveau."),
    ("reset.sign_in", "Sign in with the new password", "Se connecter avec le nouveau mot de passe"),
    ("reset.submit", "Save the password", "Enregistrer le mot de passe"),
    ("reset.title", "Choose a new password", "Choisir un nouveau mot de passe"),
    ("sign_in.code_submit", "Verify", "Vérifier"),
    ("sign_in.code_title", "Enter the code from your authenticator app or text message, or a recovery code", "Saisissez le code de votre application d’authentification ou du SMS, ou un code de secours"),
    ("sign_in.forgot", "Forgot your password?", "Mot de passe oublié ?"),
    ("sign_in.google", "Google", "Google"),
    ("sign_in.joined", "Your account is ready: sign in to continue.", "Votre compte est prêt : connectez-vous pour continuer."),
    ("sign_in.microsoft", "Microsoft", "Microsoft"),
    ("sign_in.new_firm", "New to Firmament? Create your firm", "Nouveau sur Firmament ? Créez votre cabinet"),
    ("sign_in.saml", "Your firm’s single sign-on", "L’authentification unique de votre cabinet"),
    ("sign_in.sms_sent", "A code is on its way to your phone.", "Un code est en route vers votre téléphone."),
    ("sign_in.sso", "Or sign in with", "Ou connectez-vous avec"),
    ("sign_in.submit", "Sign in", "Se connecter"),
    ("sign_in.text_me", "Text me a code instead", "Recevoir plutôt un code par SMS"),
    ("sign_in.title", "Sign in to Firmament", "Connexion à Firmament"),
    ("sign_in.working", "Signing in…", "Connexion…"),
    ("sign_up.have_account", "Already have an account? Sign in", "Déjà un compte ? Connectez-vous"),
    ("sign_up.submit", "Create the firm", "Créer le cabinet"),
    ("sign_up.title", "Create your firm", "Créer votre cabinet"),
    ("sign_up.working", "Creating…", "Création…"),
    ("verify.continue", "Continue to Firmament", "Continuer vers Firmament"),
    ("verify.done", "Your address is confirmed.", "Votre adresse est confirmée."),
    ("verify.no_token", "This page opens from the link in the e-mail.", "Cette page s’ouvre depuis le lien de l’e-mail."),
    ("verify.title", "Confirm your address", "Confirmer votre adresse"),
    ("verify.working", "Confirming…", "Confirmation…"),
];

/// The signed-in console's screens (the whole entry only): every other prefix.
#[cfg(feature = "staff")]
#[rustfmt::skip]
const STAFF: &[Row] = &[
    ("account.codes_copied", "Copied.", "Copié."),
    ("account.codes_copy", "Copy", "Copier"),
    ("account.codes_download", "Download", "Télécharger"),
    ("account.codes_new", "New recovery codes", "Nouveaux codes de secours"),
    ("account.codes_once", "Your recovery codes, shown this once: keep them somewhere safe. Each works one time if you lose your phone.", "Vos codes de secours, affichés cette seule fois : gardez-les en lieu sûr. Chacun sert une fois si vous perdez votre téléphone."),
    ("account.codes_title", "Recovery codes", "Codes de secours"),
    ("account.key_create", "Create the key", "Créer la clé"),
    ("account.key_new", "New API key", "Nouvelle clé d’API"),
    ("account.key_once", "The key, shown this once: store it in your system’s secrets now.", "La clé, affichée cette seule fois : rangez-la maintenant dans les secrets de votre système."),
    ("account.key_revoked", "revoked", "révoquée"),
    ("account.key_scopes", "What the key may do", "Ce que la clé peut faire"),
    ("account.key_used", "last used", "dernier usage"),
    ("account.keys", "API keys", "Clés d’API"),
    ("account.language_firm", "The firm’s language", "La langue du cabinet"),
    ("account.mfa", "Two-step sign-in", "Connexion en deux étapes"),
    ("account.no_keys", "No API key yet.", "Aucune clé d’API."),
    ("account.password", "Password", "Mot de passe"),
    ("account.password_changed", "Your password is changed; your other sessions were signed out.", "Votre mot de passe est changé ; vos autres sessions ont été fermées."),
    ("account.password_submit", "Change the password", "Changer le mot de passe"),
    ("account.phone_hint", "With the country code, such as +44 7700 900123.", "Avec l’indicatif du pays, par exemple +33 6 12 34 56 78."),
    ("account.profile", "Profile", "Profil"),
    ("account.session_end", "End", "Fermer"),
    ("account.session_since", "since", "depuis le"),
    ("account.sessions", "Where you are signed in", "Où vous êtes connecté"),
    ("account.sms", "Text messages", "SMS"),
    ("account.sms_confirm", "Confirm the phone", "Confirmer le téléphone"),
    ("account.sms_off", "The phone is removed.", "Le téléphone est retiré."),
    ("account.sms_on", "Codes go by text message to", "Les codes partent par SMS vers"),
    ("account.sms_remove", "Remove the phone", "Retirer le téléphone"),
    ("account.sms_send", "Text me a code", "M’envoyer un code"),
    ("account.this_session", "this browser", "ce navigateur"),
    ("account.title", "Your account", "Votre compte"),
    ("account.totp", "Authenticator app", "Application d’authentification"),
    ("account.totp_confirm", "Turn it on", "Activer"),
    ("account.totp_off", "The authenticator app is removed.", "L’application d’authentification est retirée."),
    ("account.totp_off_help", "Add an app such as 1Password, Authy or Google Authenticator: signing in will ask for its code.", "Ajoutez une application comme 1Password, Authy ou Google Authenticator : la connexion demandera son code."),
    ("account.totp_on", "The authenticator app is on.", "L’application d’authentification est active."),
    ("account.totp_qr_alt", "QR code for your authenticator app", "QR code pour votre application d’authentification"),
    ("account.totp_remove", "Remove the authenticator", "Retirer l’application"),
    ("account.totp_scan", "Scan this code with the app, or type the key, then enter the code it shows.", "Scannez ce code avec l’application, ou saisissez la clé, puis entrez le code affiché."),
    ("account.totp_secret", "Key:", "Clé :"),
    ("account.totp_start", "Set up an authenticator", "Configurer une application"),
    ("admin.actions", "Actions", "Actions"),
    ("admin.done", "Done.", "Fait."),
    ("admin.none", "Nothing here yet.", "Rien pour l’instant."),
    ("admin.when", "When", "Quand"),
    ("audit.action", "Action", "Action"),
    ("audit.actor", "By", "Par"),
    ("audit.broken", "The chain breaks at entry", "La chaîne est rompue à l’entrée"),
    ("audit.intact", "The chain is intact", "La chaîne est intacte"),
    ("audit.ip", "Address", "Adresse"),
    ("audit.outcome", "Outcome", "Résultat"),
    ("audit.target", "On", "Sur"),
    ("audit.verify", "Verify the chain", "Vérifier la chaîne"),
    ("clients.archive", "Archive", "Archiver"),
    ("clients.back", "All clients", "Tous les clients"),
    ("clients.conflict", "Someone else changed this client since you opened it. Load their version: what you typed stays in the fields, and saving then applies it over theirs.", "Quelqu’un d’autre a modifié ce client depuis votre ouverture. Chargez sa version : votre saisie reste dans les champs, et l’enregistrement l’appliquera ensuite par-dessus."),
    ("clients.create", "Create the client", "Créer le client"),
    ("clients.created", "Created", "Créé le"),
    ("clients.details", "Details", "Informations"),
    ("clients.kind", "Kind", "Type"),
    ("clients.kind.all", "Any kind", "Tous les types"),
    ("clients.kind.individual", "Individual", "Particulier"),
    ("clients.kind.organization", "Organisation", "Organisation"),
    ("clients.new", "New client", "Nouveau client"),
    ("clients.none", "No client matches.", "Aucun client ne correspond."),
    ("clients.reload", "Load their version", "Charger sa version"),
    ("clients.reloaded", "Their version is loaded; your typing is kept. Save to apply it.", "Sa version est chargée ; votre saisie est conservée. Enregistrez pour l’appliquer."),
    ("clients.restore", "Restore", "Restaurer"),
    ("clients.search", "Search names and addresses", "Rechercher noms et adresses"),
    ("clients.status", "Status", "Statut"),
    ("clients.status.active", "Active", "Actif"),
    ("clients.status.all", "Any status", "Tous les statuts"),
    ("clients.status.archived", "Archived", "Archivé"),
    ("clients.theirs", "Now saved:", "Enregistré actuellement :"),
    ("clients.title", "Clients", "Clients"),
    ("crm.activity_kind", "What happened", "Type d’échange"),
    ("crm.activity_summary", "Summary", "Résumé"),
    ("crm.adjusted", "Manager’s figure", "Chiffre du responsable"),
    ("crm.all_leads", "All leads", "Tous les prospects"),
    ("crm.auc", "Ranking (ROC AUC) on the newest fifth", "Classement (AUC ROC) sur le cinquième le plus récent"),
    ("crm.basis_model", "learnt from the firm’s closed deals", "appris des affaires closes du cabinet"),
    ("crm.basis_stage", "the stage’s probability: too few closed deals to learn from yet", "la probabilité de l’étape : pas encore assez d’affaires closes pour apprendre"),
    ("crm.best_case", "Best case", "Meilleur cas"),
    ("crm.board", "Pipeline", "Pipeline"),
    ("crm.brier", "Calibration (Brier score, lower is better)", "Calibrage (score de Brier, plus bas est meilleur)"),
    ("crm.cancel", "Cancel", "Annuler"),
    ("crm.chart_legend", "Dark: won. Medium: open deals weighted by probability. Light: best case.", "Foncé : gagné. Moyen : affaires ouvertes pondérées. Clair : meilleur cas."),
    ("crm.chart_title", "Won, weighted and best case by period", "Gagné, pondéré et meilleur cas par période"),
    ("crm.commit", "Commit", "Engagé"),
    ("crm.company", "Company", "Entreprise"),
    ("crm.contact_name", "Person’s name", "Nom de la personne"),
    ("crm.convert", "Convert into a deal", "Convertir en affaire"),
    ("crm.convert_help", "Converting makes an account, a contact and an open deal in the default pipeline.", "La conversion crée un compte, un contact et une affaire ouverte dans le pipeline par défaut."),
    ("crm.counts", "Counts now", "Compte encore"),
    ("crm.create_lead", "Add the lead", "Ajouter le prospect"),
    ("crm.expected_close", "Expected close", "Clôture prévue"),
    ("crm.faded", "No longer", "Plus maintenant"),
    ("crm.forecast", "Forecast", "Prévisions"),
    ("crm.job_title", "Job title", "Fonction"),
    ("crm.kind.call", "Call", "Appel"),
    ("crm.kind.changed", "Changed", "Modification"),
    ("crm.kind.converted", "Converted", "Conversion"),
    ("crm.kind.created", "Created", "Création"),
    ("crm.kind.email", "E-mail", "E-mail"),
    ("crm.kind.lost", "Lost", "Perdue"),
    ("crm.kind.meeting", "Meeting", "Réunion"),
    ("crm.kind.note", "Note", "Note"),
    ("crm.kind.scored", "Score", "Score"),
    ("crm.kind.stage_changed", "Stage", "Étape"),
    ("crm.kind.task", "Task", "Tâche"),
    ("crm.kind.won", "Won", "Gagnée"),
    ("crm.lead_created", "Lead added; its score:", "Prospect ajouté ; son score :"),
    ("crm.leads", "Leads", "Prospects"),
    ("crm.live", "Yes", "Oui"),
    ("crm.log", "Log it", "Consigner"),
    ("crm.lose", "Mark lost", "Marquer perdu"),
    ("crm.lost_reason", "Why it was lost", "Raison de la perte"),
    ("crm.lost_reason_optional", "Why it was lost (only for the lost stage)", "Raison de la perte (seulement pour l’étape perdue)"),
    ("crm.lowers", "Lowers it:", "L’abaisse :"),
    ("crm.min_score", "Score at least", "Score minimal"),
    ("crm.model", "How well the win model does", "Fiabilité du modèle de gain"),
    ("crm.model_prior", "The stage probabilities stand until 200 deals have closed (30 of them won and 30 lost). Closed so far:", "Les probabilités des étapes s’appliquent jusqu’à 200 affaires closes (30 gagnées et 30 perdues). Closes à ce jour :"),
    ("crm.months", "Months", "Mois"),
    ("crm.move", "Move", "Déplacer"),
    ("crm.move_to", "Move to stage", "Déplacer vers l’étape"),
    ("crm.moved_to", "now in", "maintenant en"),
    ("crm.new_lead", "New lead", "Nouveau prospect"),
    ("crm.no_adjustments", "No rule has scored this lead yet.", "Aucune règle n’a encore noté ce prospect."),
    ("crm.no_leads", "No leads match.", "Aucun prospect ne correspond."),
    ("crm.no_pipeline", "No pipeline yet.", "Pas encore de pipeline."),
    ("crm.outcomes", "Closed deals learnt from", "Affaires closes apprises"),
    ("crm.period", "Period", "Période"),
    ("crm.pipeline", "Pipeline shown", "Pipeline affiché"),
    ("crm.points", "Points", "Points"),
    ("crm.prediction", "Chance of winning", "Chance de gain"),
    ("crm.probability", "Probability", "Probabilité"),
    ("crm.quarters", "Quarters", "Trimestres"),
    ("crm.raises", "Raises it:", "L’augmente :"),
    ("crm.reason", "Why", "Pourquoi"),
    ("crm.score", "Score", "Score"),
    ("crm.search", "Search leads", "Chercher des prospects"),
    ("crm.source", "Source", "Origine"),
    ("crm.stage", "Stage", "Étape"),
    ("crm.stages", "stage probabilities:", "probabilités des étapes :"),
    ("crm.status", "Status", "Statut"),
    ("crm.status.all", "Any status", "Tous les statuts"),
    ("crm.status.contacted", "Contacted", "Contacté"),
    ("crm.status.converted", "Converted", "Converti"),
    ("crm.status.lost", "Lost", "Perdu"),
    ("crm.status.new", "New", "Nouveau"),
    ("crm.status.qualified", "Qualified", "Qualifié"),
    ("crm.timeline", "Timeline", "Historique"),
    ("crm.value", "Value", "Montant"),
    ("crm.weighted", "Weighted", "Pondéré"),
    ("crm.why_score", "Why this score", "Pourquoi ce score"),
    ("crm.won", "Won", "Gagné"),
    ("events.deliveries", "Deliveries", "Livraisons"),
    ("events.published", "Published", "Publié"),
    ("events.redeliver", "Redeliver", "Relivrer"),
    ("events.type", "Type", "Type"),
    ("flag.can_manage_billing", "Manage billing", "Gérer la facturation"),
    ("flag.can_manage_clients", "Manage clients", "Gérer les clients"),
    ("flag.can_manage_settings", "Manage settings and integrations", "Gérer les paramètres et intégrations"),
    ("flag.can_manage_users", "Manage people", "Gérer l’équipe"),
    ("flag.can_view_reports", "See reports", "Voir les rapports"),
    ("flags.create", "Create the flag", "Créer la fonctionnalité"),
    ("flags.created", "Created, off until switched on:", "Créée, désactivée jusqu’à son activation :"),
    ("flags.default", "Default", "Par défaut"),
    ("flags.description", "Description", "Description"),
    ("flags.enabled", "State", "État"),
    ("flags.help", "Switch a flag on or off here, or start a new one; targeting rules and experiments are written through the API (PUT /v1/flags/{key}).", "Activez ou désactivez une fonctionnalité ici, ou créez-en une ; les règles de ciblage et les expériences s’écrivent par l’API (PUT /v1/flags/{key})."),
    ("flags.key", "Key", "Clé"),
    ("flags.key_rule", "2 to 64 characters: lower-case letters, digits, dots, dashes and underscores, starting with a letter or digit.", "2 à 64 caractères : minuscules, chiffres, points, tirets et soulignés, en commençant par une lettre ou un chiffre."),
    ("flags.key_taken", "A flag with this key exists already.", "Une fonctionnalité porte déjà cette clé."),
    ("flags.kind", "Kind", "Type"),
    ("flags.kind_experiment", "Experiment", "Expérience"),
    ("flags.kind_ops", "Operations switch", "Interrupteur d’exploitation"),
    ("flags.kind_permission", "Permission", "Permission"),
    ("flags.kind_release", "Release (expires in 90 days)", "Mise en production (expire sous 90 jours)"),
    ("flags.new", "New flag", "Nouvelle fonctionnalité"),
    ("flags.off", "Off", "Désactivée"),
    ("flags.on", "On", "Activée"),
    ("flags.share", "Share of people, once on (%)", "Part des personnes, une fois activée (%)"),
    ("flags.share_hint", "100 for everyone; a lower share keeps the same people as it widens.", "100 pour tout le monde ; une part plus faible garde les mêmes personnes en s’élargissant."),
    ("flags.turn_off", "Turn off", "Désactiver"),
    ("flags.turn_on", "Turn on", "Activer"),
    ("flags.updated", "Changed", "Modifiée"),
    ("home.title", "Overview", "Vue d’ensemble"),
    ("home.unread", "unread", "non lues"),
    ("home.welcome", "Welcome,", "Bienvenue,"),
    ("jobs.attempts", "Attempts", "Tentatives"),
    ("jobs.cancel", "Cancel", "Annuler"),
    ("jobs.dead_letters", "Dead letters", "Lettres mortes"),
    ("jobs.error", "Error", "Erreur"),
    ("jobs.reprocess", "Run again", "Relancer"),
    ("jobs.status", "Status", "Statut"),
    ("jobs.type", "Type", "Type"),
    ("members.active", "Active", "Actif"),
    ("members.deactivate", "Deactivate", "Désactiver"),
    ("members.expires", "expires", "expire le"),
    ("members.flags", "Extra rights", "Droits supplémentaires"),
    ("members.inactive", "Deactivated", "Désactivé"),
    ("members.invitations", "Invitations", "Invitations"),
    ("members.invite", "Invite a colleague", "Inviter un collègue"),
    ("members.invited", "Invitation sent to", "Invitation envoyée à"),
    ("members.last_active", "Last active", "Dernière activité"),
    ("members.no_invitations", "No pending invitation.", "Aucune invitation en attente."),
    ("members.reactivate", "Reactivate", "Réactiver"),
    ("members.revoke", "Withdraw", "Retirer"),
    ("members.send", "Send the invitation", "Envoyer l’invitation"),
    ("members.state", "Access", "Accès"),
    ("members.title", "People", "Équipe"),
    ("nav.audit", "Audit log", "Journal d’audit"),
    ("nav.clients", "Clients", "Clients"),
    ("nav.events", "Events", "Événements"),
    ("nav.flags", "Feature flags", "Fonctionnalités"),
    ("nav.forecast", "Forecast", "Prévisions"),
    ("nav.jobs", "Jobs", "Tâches"),
    ("nav.label", "Main", "Principal"),
    ("nav.leads", "Leads", "Prospects"),
    ("nav.members", "People", "Équipe"),
    ("nav.notifications", "Notifications", "Notifications"),
    ("nav.overview", "Overview", "Vue d’ensemble"),
    ("nav.pipeline", "Pipeline", "Pipeline"),
    ("nav.settings", "Settings", "Paramètres"),
    ("nav.sso", "Single sign-on", "Authentification unique"),
    ("nav.switch", "Firm", "Cabinet"),
    ("nav.webhooks", "Webhooks", "Webhooks"),
    ("notifications.none", "Nothing new.", "Rien de nouveau."),
    ("notifications.read_all", "Mark all read", "Tout marquer comme lu"),
    ("portal_role.admin", "Portal administrator", "Administrateur du portail"),
    ("portal_role.member", "Member", "Membre"),
    ("portal_role.viewer", "Viewer", "Lecteur"),
    ("portal_users.invite", "Invite someone to the portal", "Inviter quelqu’un sur le portail"),
    ("portal_users.invited", "Invitation sent.", "Invitation envoyée."),
    ("portal_users.no_invitations", "No pending invitation.", "Aucune invitation en attente."),
    ("portal_users.none", "Nobody has portal access yet.", "Personne n’a encore accès au portail."),
    ("portal_users.pending", "Pending invitations", "Invitations en attente"),
    ("portal_users.send", "Send the invitation", "Envoyer l’invitation"),
    ("portal_users.title", "Client portal", "Portail client"),
    ("role.billing", "Billing", "Facturation"),
    ("role.firm_admin", "Firm administrator", "Administrateur du cabinet"),
    ("role.manager", "Manager", "Responsable"),
    ("role.partner", "Partner", "Associé"),
    ("role.portal", "Portal user", "Utilisateur du portail"),
    ("role.readonly", "Read-only", "Lecture seule"),
    ("role.staff", "Staff", "Collaborateur"),
    ("settings.brand_hint", "#rrggbb, dark enough for white text (WCAG AA); empty for Firmament’s blue.", "#rrggbb, assez sombre pour un texte blanc (WCAG AA) ; vide pour le bleu de Firmament."),
    ("settings.brand_sample", "White text on your colour", "Texte blanc sur votre couleur"),
    ("settings.currency_hint", "Three letters (ISO 4217) such as EUR.", "Trois lettres (ISO 4217) comme EUR."),
    ("settings.locale_hint", "Such as en-GB or fr-FR: how dates, numbers and money are written.", "Par exemple en-GB ou fr-FR : l’écriture des dates, nombres et montants."),
    ("settings.logo", "Logo", "Logo"),
    ("settings.logo_alt", "The firm’s logo", "Le logo du cabinet"),
    ("settings.logo_choose", "Choose an image first.", "Choisissez d’abord une image."),
    ("settings.logo_file", "Logo image", "Image du logo"),
    ("settings.logo_hint", "PNG, JPEG, WebP or GIF, at most 2 MiB.", "PNG, JPEG, WebP ou GIF, 2 Mio au plus."),
    ("settings.logo_none", "No logo yet.", "Pas encore de logo."),
    ("settings.logo_progress", "Upload progress", "Progression du téléversement"),
    ("settings.logo_remove", "Remove the logo", "Retirer le logo"),
    ("settings.logo_removed", "The logo is removed.", "Le logo est retiré."),
    ("settings.logo_saved", "The logo is uploaded.", "Le logo est téléversé."),
    ("settings.logo_scanning", "The logo is being checked for malware; it shows once clean.", "Le logo est en cours d’analyse antivirus ; il s’affiche une fois sain."),
    ("settings.logo_upload", "Upload the logo", "Téléverser le logo"),
    ("settings.logo_uploading", "Uploading…", "Téléversement…"),
    ("settings.organisation", "Organisation", "Organisation"),
    ("settings.preview", "Amounts and dates will look like:", "Montants et dates s’écriront ainsi :"),
    ("settings.timezone_hint", "An IANA zone such as Europe/Paris: schedules and dates follow it.", "Un fuseau IANA comme Europe/Paris : agendas et dates le suivent."),
    ("settings.title", "Settings", "Paramètres"),
    ("settings.unchanged", "Nothing changed.", "Rien n’a changé."),
    ("sso.acs", "Assertion consumer service URL:", "URL du service consommateur d’assertions :"),
    ("sso.entity", "Service provider entity ID:", "Identifiant d’entité du fournisseur de service :"),
    ("sso.idp", "Your identity provider", "Votre fournisseur d’identité"),
    ("sso.idp_certificate", "Signing certificate (PEM)", "Certificat de signature (PEM)"),
    ("sso.idp_entity", "Identity provider entity ID", "Identifiant d’entité du fournisseur d’identité"),
    ("sso.idp_url", "Sign-in URL (HTTP-Redirect)", "URL de connexion (HTTP-Redirect)"),
    ("sso.provider_side", "Give these to your identity provider", "À donner à votre fournisseur d’identité"),
    ("webhooks.attempts", "Attempts", "Tentatives"),
    ("webhooks.attempts_show", "Attempts", "Tentatives"),
    ("webhooks.create", "Add the endpoint", "Ajouter le point de terminaison"),
    ("webhooks.deliveries", "Deliveries", "Livraisons"),
    ("webhooks.endpoints", "Endpoints", "Points de terminaison"),
    ("webhooks.failing_since", "Failing since", "En échec depuis"),
    ("webhooks.health", "Health", "Santé"),
    ("webhooks.last_day", "Last 24 hours", "Dernières 24 heures"),
    ("webhooks.last_error", "Last error", "Dernière erreur"),
    ("webhooks.last_status", "Last answer", "Dernière réponse"),
    ("webhooks.last_success", "Last success", "Dernier succès"),
    ("webhooks.new", "New endpoint", "Nouveau point de terminaison"),
    ("webhooks.no_attempts", "No attempt yet.", "Aucune tentative pour l’instant."),
    ("webhooks.resend", "Resend", "Renvoyer"),
    ("webhooks.secret_once", "Its signing secret, shown this once:", "Son secret de signature, affiché cette seule fois :"),
    ("webhooks.status", "Status", "Statut"),
    ("webhooks.succeeded", "succeeded", "réussies"),
    ("webhooks.test", "Send a test", "Envoyer un test"),
    ("webhooks.types", "Event types", "Types d’événements"),
    ("webhooks.types_hint", "Separated by commas: a type such as firm.created, a group such as webhook.*, or * for every event.", "Séparés par des virgules : un type comme firm.created, un groupe comme webhook.*, ou * pour tous les événements."),
    ("webhooks.url", "URL", "URL"),
    ("webhooks.waiting", "waiting", "en attente"),
];

/// The row of `key` in `table`, if it is there.
fn find(table: &'static [Row], key: &str) -> Option<&'static Row> {
    table
        .binary_search_by(|(k, _, _)| (*k).cmp(key))
        .ok()
        .and_then(|i| table.get(i))
}

/// The text of `key` in the current language (English when a translation is
/// empty; the key itself if this entry does not carry it).
pub fn t(key: &'static str) -> &'static str {
    let found = find(COMMON, key);
    #[cfg(feature = "auth")]
    let found = found.or_else(|| find(PUBLIC, key));
    #[cfg(feature = "staff")]
    let found = found.or_else(|| find(STAFF, key));
    let language = CURRENT.with(Cell::get);
    found.map_or(key, |(_, en, fr)| match language {
        1 if !fr.is_empty() => fr,
        _ => en,
    })
}

/// A language's own name, for the language menu.
pub fn language_name(code: &str) -> &'static str {
    match code {
        "fr" => "Français",
        _ => "English",
    }
}

fn index_of(code: &str) -> usize {
    let primary = code
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    LANGUAGES.iter().position(|l| *l == primary).unwrap_or(0)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn apply(index: usize) {
    CURRENT.with(|c| c.set(index));
    let tag = LANGUAGES.get(index).copied().unwrap_or("en");
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", tag);
    }
}

/// Picks the page's language before anything is drawn: the one last used here,
/// else the browser's.
pub fn init() {
    let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let code = stored.or_else(|| web_sys::window().and_then(|w| w.navigator().language()));
    apply(index_of(&code.unwrap_or_default()));
}

/// Follows the language the person should see (theirs or their firm's): when it
/// is not the one on screen, it is remembered and the page reloads in it (true).
pub fn follow(code: &str) -> bool {
    let wanted = index_of(code);
    if wanted == CURRENT.with(Cell::get) {
        return false;
    }
    if let Some(s) = storage() {
        let _ = s.set_item(STORAGE_KEY, LANGUAGES.get(wanted).copied().unwrap_or("en"));
    }
    apply(wanted);
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
    true
}
