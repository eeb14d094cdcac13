use latchkey_core::network::IpRange;
use latchkey_core::policy::{
    Complexity, LockoutPeriod, LockoutScope, MaxInvalidAttempts, PasswordExpiry, PasswordPolicy,
};
use latchkey_store::users::PasswordChange;
use latchkey_store::{orgs, users, Store, StoreError};

use crate::store_test;
use crate::support::t0;
use crate::users::org_and_user;

store_test!(new_org_has_standard_profiles_and_default_policy);
async fn new_org_has_standard_profiles_and_default_policy(store: &Store) {
    let mut c = store.conn().await.unwrap();
    let org = orgs::create(&mut c, "Acme", t0()).await.unwrap();
    assert!(org.id.as_str().starts_with("00D"));
    assert_eq!(org.policy, PasswordPolicy::default());
    let names: Vec<_> = orgs::profiles(&mut c, &org.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["API Only User", "Standard User", "System Administrator"]);
    let admin = orgs::profile_by_name(&mut c, &org.id, "system administrator")
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_admin && admin.api_enabled && !admin.api_only);
    assert_eq!(orgs::list(&mut c).await.unwrap(), vec![org]);
}

store_test!(policy_round_trips_and_moves_expiry_only_earlier);
async fn policy_round_trips_and_moves_expiry_only_earlier(store: &Store) {
    let (org, user) = org_and_user(store, "a@acme.test").await;
    let mut c = store.conn().await.unwrap();
    let hash = latchkey_core::password::PhcString::new("$argon2id$v=19$m=64,t=1,p=1$x$y".into());
    let expires = t0() + chrono::Duration::days(90);
    users::set_password(
        &mut c,
        &user.id,
        &PasswordChange {
            hash: &hash,
            set_at: t0(),
            expires_at: Some(expires),
            history: 3,
        },
    )
    .await
    .unwrap();

    let policy = PasswordPolicy {
        expiry: PasswordExpiry::Days(30),
        history: 5,
        min_length: 12,
        complexity: Complexity::UpperLowerCaseNumericSpecialCharacters,
        max_invalid_attempts: MaxInvalidAttempts::Limit(3),
        lockout: LockoutPeriod::Forever,
        lockout_scope: LockoutScope::AllSources,
    };
    orgs::set_policy(&mut c, &org.id, &policy).await.unwrap();
    assert_eq!(orgs::get(&mut c, &org.id).await.unwrap().policy, policy);
    let earlier = t0() + chrono::Duration::days(30);
    assert_eq!(
        users::get(&mut c, &user.id).await.unwrap().password_expires_at,
        Some(earlier)
    );

    orgs::set_policy(
        &mut c,
        &org.id,
        &PasswordPolicy {
            expiry: PasswordExpiry::Days(365),
            ..policy
        },
    )
    .await
    .unwrap();
    assert_eq!(
        users::get(&mut c, &user.id).await.unwrap().password_expires_at,
        Some(earlier),
        "never later"
    );

    orgs::set_policy(
        &mut c,
        &org.id,
        &PasswordPolicy {
            expiry: PasswordExpiry::Never,
            ..policy
        },
    )
    .await
    .unwrap();
    assert_eq!(users::get(&mut c, &user.id).await.unwrap().password_expires_at, None);
}

store_test!(trusted_and_profile_ranges);
async fn trusted_and_profile_ranges(store: &Store) {
    let mut c = store.conn().await.unwrap();
    let org = orgs::create(&mut c, "Acme", t0()).await.unwrap();
    let r1: IpRange = "127.0.0.0/8".parse().unwrap();
    let r2: IpRange = "2001:db8::/32".parse().unwrap();
    orgs::add_trusted_range(&mut c, &org.id, &r1).await.unwrap();
    orgs::add_trusted_range(&mut c, &org.id, &r2).await.unwrap();
    assert!(matches!(
        orgs::add_trusted_range(&mut c, &org.id, &r1).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(orgs::trusted_ranges(&mut c, &org.id).await.unwrap(), vec![r1, r2]);
    assert!(orgs::remove_trusted_range(&mut c, &org.id, &r1).await.unwrap());
    assert!(!orgs::remove_trusted_range(&mut c, &org.id, &r1).await.unwrap());
    assert_eq!(orgs::trusted_ranges(&mut c, &org.id).await.unwrap(), vec![r2]);

    let profile = orgs::profile_by_name(&mut c, &org.id, "Standard User")
        .await
        .unwrap()
        .unwrap();
    let ranges: Vec<IpRange> = vec![
        "10.0.0.0/8".parse().unwrap(),
        "192.168.1.1-192.168.1.9".parse().unwrap(),
    ];
    orgs::set_login_ranges(&mut c, &profile.id, &ranges).await.unwrap();
    assert_eq!(orgs::login_ranges(&mut c, &profile.id).await.unwrap(), ranges);
    let context = orgs::login_context(&mut c, &org.id, &profile.id).await.unwrap();
    assert_eq!(
        (context.profile_ranges, context.trusted_ranges),
        (ranges.clone(), vec![r2])
    );
    assert_eq!(context.org, orgs::get(&mut c, &org.id).await.unwrap());
    orgs::set_login_ranges(&mut c, &profile.id, &[]).await.unwrap();
    assert!(orgs::login_ranges(&mut c, &profile.id).await.unwrap().is_empty());
    orgs::remove_trusted_range(&mut c, &org.id, &r2).await.unwrap();
    let bare = orgs::login_context(&mut c, &org.id, &profile.id).await.unwrap();
    assert!(
        bare.profile_ranges.is_empty() && bare.trusted_ranges.is_empty(),
        "no ranges: the org alone"
    );
    assert_eq!(bare.org.id, org.id);
}
